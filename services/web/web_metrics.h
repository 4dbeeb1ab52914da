/* web_metrics: the Prometheus text format (version 0.0.4) for /metrics.
 *
 * A web_samples_t collects samples (name, labels, value) in any order;
 * web_samples_write prints them grouped by metric name, each name once
 * with its # HELP and # TYPE lines, label values escaped (\\, \", \n).
 * web_samples_from_message adds every set integer or bool field of a
 * service's health or statistics reply as a gauge named
 * <prefix>_<field>{service="..."}, so a field that a service adds to its
 * health reply appears here without a change to pay-web.
 *
 * Pure: no I/O. Ownership: the samples own their strings; help and type
 * must be static strings. */
#ifndef PAY_WEB_METRICS_H
#define PAY_WEB_METRICS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "web_buf.h"

typedef struct {
    char name[96];
    char labels[256];       /* already formatted: service="wages",kind="x" */
    const char *type;       /* "gauge" or "counter" */
    const char *help;
    uint64_t value;
} web_sample_t;

typedef struct {
    web_sample_t *s;
    size_t n, cap;
    int failed;
} web_samples_t;

void web_samples_init(web_samples_t *m);
void web_samples_release(web_samples_t *m);

/* Adds one sample; labels are name/value pairs ended by NULL (values
 * escaped here). A name that is not [a-zA-Z_:][a-zA-Z0-9_:]* is dropped. */
void web_samples_add(web_samples_t *m, const char *name, const char *type, const char *help,
                     uint64_t value, ...);
/* Every set integer/bool field of `msg` as <prefix>_<field>{service=service}. */
void web_samples_from_message(web_samples_t *m, const char *prefix, const char *service,
                              const ProtobufCMessage *msg);
/* The exposition text. */
void web_samples_write(const web_samples_t *m, web_buf_t *out);

#endif
