/* web_static: the style sheet and the one small script, compiled in so
 * that pay-web is one file to deploy. No page has inline script or style
 * (the Content-Security-Policy forbids both). */
#include <string.h>

#include "web_app.h"

static const char s_css[] =
    ":root{--ink:#1d2630;--muted:#5b6875;--line:#d5dbe1;--accent:#0b5cad;--bad:#a4161a;"
    "--warn:#8a5a00;--ok:#1b6e3a;--bg:#f6f8fa}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);"
    "background:var(--bg)}\n"
    "header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem;padding:.6rem 1.25rem;"
    "background:#12324f;color:#fff}\n"
    "header a{color:#dce9f5;text-decoration:none}\n"
    "header a.brand{font-weight:600;color:#fff}\n"
    "nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;flex:1}\n"
    "nav a.here{color:#fff;border-bottom:2px solid #8fc1f2}\n"
    ".who{display:flex;align-items:center;gap:.6rem;font-size:.9em}\n"
    ".who form{margin:0}\n"
    "button.link{background:none;border:1px solid #8fa9c2;color:#fff;padding:.15rem .6rem;"
    "border-radius:4px;cursor:pointer}\n"
    "main{padding:1rem 1.25rem 3rem;max-width:1400px}\n"
    "h1{font-size:1.4rem;margin:.4rem 0 1rem}\n"
    "form.query,form.login{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:end;"
    "margin:0 0 1rem;padding:.75rem;background:#fff;border:1px solid var(--line);border-radius:6px}\n"
    "form.login{flex-direction:column;align-items:start;max-width:22rem}\n"
    "label{display:flex;flex-direction:column;font-size:.85em;color:var(--muted);gap:.2rem}\n"
    "input,select{font:inherit;padding:.3rem .45rem;border:1px solid #b8c2cc;border-radius:4px;"
    "min-width:9rem}\n"
    "button{font:inherit;padding:.35rem .9rem;border:1px solid var(--accent);background:var(--accent);"
    "color:#fff;border-radius:4px;cursor:pointer}\n"
    "button.danger{background:var(--bad);border-color:var(--bad)}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;margin:0 0 1rem;"
    "padding:.75rem;background:#fff;border:1px solid var(--line);border-radius:6px}\n"
    "dl.facts dt{color:var(--muted)}\n"
    "dl.facts dd{margin:0;font-variant-numeric:tabular-nums}\n"
    ".scroll{overflow-x:auto;margin:0 0 1.25rem}\n"
    "table.data{border-collapse:collapse;background:#fff;min-width:40%;font-variant-numeric:"
    "tabular-nums}\n"
    "table.data caption{text-align:left;font-weight:600;padding:.3rem 0}\n"
    "table.data caption .count{font-weight:400;color:var(--muted)}\n"
    "table.data th,table.data td{border:1px solid var(--line);padding:.25rem .55rem;"
    "text-align:left;white-space:nowrap}\n"
    "table.data thead th{background:#eef2f6;position:sticky;top:0}\n"
    "table.data tfoot th{background:#eef2f6}\n"
    "table.data .num{text-align:right}\n"
    "table.data td.empty{color:var(--muted);font-style:italic}\n"
    "table.data tbody tr:nth-child(even){background:#fafbfc}\n"
    "p.note{padding:.5rem .75rem;border-radius:5px;margin:0 0 .8rem;border:1px solid}\n"
    "p.note.info{background:#eef6ff;border-color:#b6d4f5}\n"
    "p.note.warn{background:#fff7e6;border-color:#f0cf8a;color:var(--warn)}\n"
    "p.note.error{background:#fdecec;border-color:#f1b0b0;color:var(--bad)}\n"
    "ul.links{margin:0 0 1rem;padding-left:1.2rem}\n"
    "input.filter{margin:0 0 .4rem}\n"
    "@media print{header,form{display:none}main{padding:0}}\n";

/* Adds a filter box above each long table (rows hide as one types). */
static const char s_js[] =
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  document.querySelectorAll('table.data').forEach(function (t) {\n"
    "    var body = t.tBodies[0];\n"
    "    if (!body || body.rows.length < 15) return;\n"
    "    var box = document.createElement('input');\n"
    "    box.type = 'search';\n"
    "    box.className = 'filter';\n"
    "    box.placeholder = 'Filter these ' + body.rows.length + ' rows';\n"
    "    box.setAttribute('aria-label', 'Filter the table');\n"
    "    box.addEventListener('input', function () {\n"
    "      var q = box.value.toLowerCase();\n"
    "      Array.prototype.forEach.call(body.rows, function (r) {\n"
    "        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;\n"
    "      });\n"
    "    });\n"
    "    t.parentNode.parentNode.insertBefore(box, t.parentNode);\n"
    "  });\n"
    "});\n";

const char *web_static_file(const char *name, const char **content_type)
{
    if (strcmp(name, "style.css") == 0) {
        *content_type = "text/css; charset=utf-8";
        return s_css;
    }
    if (strcmp(name, "app.js") == 0) {
        *content_type = "text/javascript; charset=utf-8";
        return s_js;
    }
    return NULL;
}
