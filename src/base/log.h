/*
 * log — one line per event on stderr: "2026-11-27T09:00:00.123Z LEVEL message".
 * Thread-safe (a single fprintf per line). FLOE_LOG=debug enables debug lines.
 */
#ifndef FLOE_LOG_H
#define FLOE_LOG_H

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Milliseconds / nanoseconds of CLOCK_REALTIME / CLOCK_MONOTONIC. */
long long now_ms(void);
long long mono_ns(void);

#endif
