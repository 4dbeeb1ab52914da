/* web_metrics_test: the Prometheus text: grouping, HELP/TYPE once per
 * name, label escaping, bad names dropped, fields from a reply. */
#include <string.h>

#include "tap.h"
#include "wages.pb-c.h"
#include "web_metrics.h"

int main(void)
{
    web_samples_t m;
    web_samples_init(&m);
    web_samples_add(&m, "pay_service_up", "gauge", "up", 1, "service", "hours", NULL);
    web_samples_add(&m, "pay_feed_lag", "gauge", "lag", 7, "service", "wages", NULL);
    web_samples_add(&m, "pay_service_up", "gauge", "up", 0, "service", "wages", NULL);
    web_samples_add(&m, "bad-name", "gauge", "x", 1, NULL);
    web_samples_add(&m, "pay_web_requests_total", "counter", "req", 3, "route", "/a\"b\\c\nd",
                    NULL);
    Pay__WagesHealthReply h = PAY__WAGES_HEALTH_REPLY__INIT;
    h.has_cursor = 1;
    h.cursor = 41;
    h.has_head_seq = 1;
    h.head_seq = 48;
    web_samples_from_message(&m, "pay_service_health", "wages", &h.base);
    web_buf_t b;
    web_buf_init(&b, 0);
    web_samples_write(&m, &b);
    const char *want_up = "# HELP pay_service_up up\n# TYPE pay_service_up gauge\n"
                          "pay_service_up{service=\"hours\"} 1\n"
                          "pay_service_up{service=\"wages\"} 0\n";
    TAP_OK(b.data && strstr(b.data, want_up) != NULL, "one name: HELP and TYPE once, samples together");
    TAP_OK(strstr(b.data, "pay_feed_lag{service=\"wages\"} 7\n") != NULL, "a gauge with labels");
    TAP_OK(!strstr(b.data, "bad-name"), "a bad metric name is dropped");
    TAP_OK(strstr(b.data, "route=\"/a\\\"b\\\\c\\nd\"} 3") != NULL, "label values escaped");
    TAP_OK(strstr(b.data, "# TYPE pay_web_requests_total counter") != NULL, "a counter");
    TAP_OK(strstr(b.data, "pay_service_health_cursor{service=\"wages\"} 41\n") != NULL &&
               strstr(b.data, "pay_service_health_head_seq{service=\"wages\"} 48\n") != NULL,
           "set fields of a health reply become gauges");
    TAP_OK(!strstr(b.data, "ledger_lines"), "unset fields are left out");
    int helps = 0;
    for (const char *p = b.data; (p = strstr(p, "# HELP pay_service_up ")); p++)
        helps++;
    TAP_EQ_INT(helps, 1, "exactly one HELP line for pay_service_up");
    web_buf_release(&b);
    web_samples_release(&m);
    return tap_done();
}
