// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "countmap.h"
#include "dynlib.h"
#include "events.h"
#include "metrics.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_MAX_SERIES 1000
#define MAX_MAX_SERIES	   10000
/* Histogram buckets go up to about two minutes (2^37 ns); longer waits fall in +Inf. */
#define HIST_MAX_NS  (1ull << 37)
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metric_series {
	uint64_t hash; /* of the labels */
	const char *names[METRIC_MAX_LABELS];
	char *values[METRIC_MAX_LABELS];
	size_t nlabels;
	uint64_t value;	    /* counter, gauge, info: updated, or taken out of a map */
	uint64_t value_now; /* a map's entry now */
	uint64_t read;	    /* a count map's entries summed at this scrape */
	/* histogram: counts kept (observed, or taken out of a map), and a map's entry now */
	struct hist_log2 *kept, *now;
};

static struct {
	struct metrics_addr listen;
	const char *arg;
	uint64_t max_series;
	atomic_uint_fast64_t nseries, dropped;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock; /* the lists below */
	struct metric_family *families, **tail;
	struct bpf_object *objs[4];
	size_t nobjs;
} m = {
	.max_series = DEFAULT_MAX_SERIES,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.tail = &m.families,
};

static bool parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (!parse_u64(s, 1, 65535, &v))
		return false;
	*port = v;
	return true;
}

bool metrics_parse_addr(const char *arg, struct metrics_addr *a)
{
	struct sockaddr_in *in = (void *)&a->addr;
	struct sockaddr_in6 *in6 = (void *)&a->addr;
	const char *colon = strrchr(arg, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t len;

	*a = (struct metrics_addr){};
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->addr_len = sizeof(*in);
	if (!colon) {
		if (!parse_port(arg, &in->sin_port))
			return false;
		in->sin_port = htons(in->sin_port);
		return true;
	}
	len = colon - arg;
	if (len >= sizeof(host))
		return false;
	memcpy(host, arg, len);
	host[len] = '\0';
	a->explicit_addr = true;
	if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
		host[len - 1] = '\0';
		in6->sin6_family = AF_INET6;
		a->addr_len = sizeof(*in6);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1 ||
		    !parse_port(colon + 1, &in6->sin6_port))
			return false;
		in6->sin6_port = htons(in6->sin6_port);
		return true;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1 || !parse_port(colon + 1, &in->sin_port))
		return false;
	in->sin_port = htons(in->sin_port);
	return true;
}

void metrics_option(const char *arg)
{
	if (!metrics_parse_addr(arg, &m.listen))
		usage_error("invalid --metrics '%s': expected [ADDR:]PORT, a port from 1 to 65535 "
			    "and an IPv4 or [IPv6] address",
			    arg);
	m.arg = arg;
}

void metrics_max_series_option(const char *arg)
{
	m.max_series = opt_u64("--metrics-max-series", arg, 1, MAX_MAX_SERIES);
}

bool metrics_on(void)
{
	return m.arg != NULL;
}

/* FNV-1a over the names and values, each with its NUL. */
static uint64_t labels_hash(const char *const *names, const char *const *values, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < 2 * n; i++) {
		const char *p = i & 1 ? values[i / 2] : names[i / 2];

		do
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		while (*p++);
	}
	return h;
}

static bool series_is(const struct metric_series *s, uint64_t hash, const char *const *names,
		      const char *const *values, size_t n)
{
	if (s->hash != hash || s->nlabels != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->names[i], names[i]) || strcmp(s->values[i], values[i]))
			return false;
	return true;
}

static void index_put(size_t *index, size_t cap, uint64_t hash, size_t i)
{
	size_t j = hash & (cap - 1);

	while (index[j])
		j = (j + 1) & (cap - 1);
	index[j] = i + 1;
}

/* Keep the index at most half full, so that a lookup probes a few slots. */
static bool index_room(struct metric_family *f)
{
	size_t cap = f->index_cap ? 2 * f->index_cap : 16;
	size_t *index;

	if (2 * (f->nseries + 1) <= f->index_cap)
		return true;
	index = calloc(cap, sizeof(*index));
	if (!index)
		return false;
	for (size_t i = 0; i < f->nseries; i++)
		index_put(index, cap, f->series[i].hash, i);
	free(f->index);
	f->index = index;
	f->index_cap = cap;
	return true;
}

/* The series of f with these labels, created if there is room; call with f->lock held. */
static struct metric_series *series_of(struct metric_family *f, const char *const *names,
				       const char *const *values, size_t n)
{
	uint64_t hash = labels_hash(names, values, n);
	struct metric_series *s;

	for (size_t j = hash & (f->index_cap - 1); f->index_cap && f->index[j];
	     j = (j + 1) & (f->index_cap - 1)) {
		s = &f->series[f->index[j] - 1];
		if (series_is(s, hash, names, values, n))
			return s;
	}
	if (atomic_fetch_add(&m.nseries, 1) >= m.max_series || !index_room(f))
		goto full;
	if (f->nseries == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		void *grown = realloc(f->series, cap * sizeof(*s));

		if (!grown)
			goto full;
		f->series = grown;
		f->cap = cap;
	}
	index_put(f->index, f->index_cap, hash, f->nseries);
	s = &f->series[f->nseries++];
	*s = (struct metric_series){ .hash = hash, .nlabels = n };
	for (size_t i = 0; i < n; i++) {
		s->names[i] = names[i];
		s->values[i] = strdup(values[i]);
	}
	if (f->type == METRIC_HISTOGRAM) {
		s->kept = calloc(1, sizeof(*s->kept));
		s->now = calloc(1, sizeof(*s->now));
	}
	return s;
full:
	atomic_fetch_sub(&m.nseries, 1);
	atomic_fetch_add(&m.dropped, 1);
	return NULL;
}

static void list_family(struct metric_family *f)
{
	pthread_mutex_lock(&m.lock);
	if (!f->listed) {
		f->listed = true;
		__atomic_store_n(m.tail, f, __ATOMIC_RELEASE);
		m.tail = &f->next;
	}
	pthread_mutex_unlock(&m.lock);
}

static size_t count_labels(const struct metric_family *f)
{
	size_t n = 0;

	while (n < METRIC_MAX_LABELS && f->labels[n])
		n++;
	return n;
}

/* Lock f and find its series for values (listing f first); NULL, unlocked, when it has none. */
static struct metric_series *lock_series(struct metric_family *f, const char *const *values)
{
	struct metric_series *s;

	if (!f->listed)
		list_family(f);
	pthread_mutex_lock(&f->lock);
	s = series_of(f, f->labels, values, count_labels(f));
	if (!s)
		pthread_mutex_unlock(&f->lock);
	return s;
}

void metrics_add(struct metric_family *f, const char *const *values, uint64_t delta)
{
	struct metric_series *s;

	if (!metrics_on() || !(s = lock_series(f, values)))
		return;
	s->value += delta;
	pthread_mutex_unlock(&f->lock);
}

void metrics_set(struct metric_family *f, const char *const *values, uint64_t value)
{
	struct metric_series *s;

	if (!metrics_on() || !(s = lock_series(f, values)))
		return;
	s->value = value;
	pthread_mutex_unlock(&f->lock);
}

void metrics_observe(struct metric_family *f, const char *const *values, uint64_t ns)
{
	struct metric_series *s;

	if (!metrics_on() || !(s = lock_series(f, values)))
		return;
	s->kept->slots[hist_log2_slot(f->hist_div ? ns / f->hist_div : ns)]++;
	s->kept->sum += ns;
	pthread_mutex_unlock(&f->lock);
}

static void free_series(struct metric_family *f)
{
	for (size_t i = 0; i < f->nseries; i++) {
		for (size_t j = 0; j < f->series[i].nlabels; j++)
			free(f->series[i].values[j]);
		free(f->series[i].kept);
		free(f->series[i].now);
	}
	atomic_fetch_sub(&m.nseries, f->nseries);
	f->nseries = 0;
	if (f->index)
		memset(f->index, 0, f->index_cap * sizeof(*f->index));
}

void metrics_clear(struct metric_family *f)
{
	if (!metrics_on())
		return;
	pthread_mutex_lock(&f->lock);
	free_series(f);
	pthread_mutex_unlock(&f->lock);
}

const char *metrics_result(int64_t ret)
{
	return ret >= 0 ? "ok" : errno_name(-ret);
}

/* The labels of a map's entry: its key fields, as text. */
struct entry_labels {
	const char *names[METRIC_MAX_LABELS], *values[METRIC_MAX_LABELS];
	char nums[METRIC_MAX_LABELS][24], strs[METRIC_MAX_LABELS][256];
	size_t n;
};

static bool entry_labels(const struct metrics_map *mm, const void *key, const void *value,
			 struct entry_labels *l)
{
	struct hist_key fields[METRIC_MAX_LABELS - 1];

	l->n = 0;
	if (!mm->decode(key, value, fields, &l->n))
		return false;
	for (size_t i = 0; i < l->n; i++) {
		l->names[i] = fields[i].name;
		if (fields[i].str) {
			snprintf(l->strs[i], sizeof(l->strs[i]), "%.*s",
				 (int)strnlen(fields[i].str, fields[i].len), fields[i].str);
			l->values[i] = l->strs[i];
		} else {
			snprintf(l->nums[i], sizeof(l->nums[i]), "%llu",
				 (unsigned long long)fields[i].num);
			l->values[i] = l->nums[i];
		}
	}
	return true;
}

/* A column's series of an entry; call with its family locked. */
static struct metric_series *column_series(const struct metrics_column *c, struct entry_labels *l)
{
	l->names[l->n] = c->label;
	l->values[l->n] = c->label_value;
	return series_of(c->family, l->names, l->values, l->n + (c->label != NULL));
}

static struct hist_log2 column_hist(const struct metrics_column *c, const void *value)
{
	struct hist_log2 h;

	memcpy(&h, (const char *)value + c->offset, sizeof(h));
	if (c->sum_offset)
		memcpy(&h.sum, (const char *)value + c->sum_offset, sizeof(h.sum));
	return h;
}

static uint64_t column_u64(const struct metrics_column *c, const void *value)
{
	uint64_t v;

	memcpy(&v, (const char *)value + c->offset, sizeof(v));
	return v;
}

static void hist_add(struct hist_log2 *to, const struct hist_log2 *from)
{
	for (size_t i = 0; i < HIST_SLOTS; i++)
		to->slots[i] += from->slots[i];
	to->sum += from->sum;
}

struct each_ctx {
	struct metrics_map *mm;
	hist_entry_fn fn;
	void *ctx;
};

/* An entry taken out of the map: its numbers go into what the series keep. */
static void keep_entry(void *ctx, const void *key, const void *value)
{
	struct each_ctx *e = ctx;
	struct entry_labels l;
	size_t n = entry_labels(e->mm, key, value, &l) ? e->mm->ncolumns : 0;

	for (size_t i = 0; i < n; i++) {
		const struct metrics_column *c = &e->mm->columns[i];
		struct metric_series *s = column_series(c, &l);
		struct hist_log2 h;

		if (s && c->family->type == METRIC_HISTOGRAM) {
			h = column_hist(c, value);
			hist_add(s->kept, &h);
		} else if (s) {
			s->value += column_u64(c, value);
		}
	}
	e->fn(e->ctx, key, value);
}

/* Whether column i is the first of the map's with its family (whose lock is then taken once). */
static bool first_of_family(const struct metrics_map *mm, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (mm->columns[j].family == mm->columns[i].family)
			return false;
	return true;
}

static void lock_families(const struct metrics_map *mm, bool lock)
{
	for (size_t i = 0; i < mm->ncolumns; i++) {
		size_t k = lock ? i : mm->ncolumns - 1 - i;

		if (!first_of_family(mm, k))
			continue;
		if (lock)
			pthread_mutex_lock(&mm->columns[k].family->lock);
		else
			pthread_mutex_unlock(&mm->columns[k].family->lock);
	}
}

size_t metrics_map_each(struct metrics_map *mm, bool clear, hist_entry_fn fn, void *ctx)
{
	struct each_ctx e = { mm, fn, ctx };
	bool keep = clear && metrics_on();
	size_t n;

	lock_families(mm, true);
	n = hist_map_each(mm->fd, mm->key_size, mm->value_size, clear, mm->cmp,
			  keep ? keep_entry : fn, keep ? &e : ctx);
	lock_families(mm, false);
	return n;
}

struct read_ctx {
	const struct metrics_map *mm;
	const struct metric_family *f;
};

/* An entry as it is now, into the now counts of f's series. */
static void read_entry(void *ctx, const void *key, const void *value)
{
	const struct read_ctx *r = ctx;
	struct entry_labels l;

	if (!entry_labels(r->mm, key, value, &l))
		return;
	for (size_t i = 0; i < r->mm->ncolumns; i++) {
		const struct metrics_column *c = &r->mm->columns[i];
		struct metric_series *s = c->family == r->f ? column_series(c, &l) : NULL;

		if (s && r->f->type == METRIC_HISTOGRAM)
			*s->now = column_hist(c, value);
		else if (s)
			s->value_now = column_u64(c, value);
	}
}

void metrics_watch_map(struct metrics_map *mm)
{
	for (size_t i = 0; i < mm->ncolumns; i++) {
		mm->columns[i].family->source = mm;
		list_family(mm->columns[i].family);
	}
}

/* The map as it is now, into the now counts of f's series; call with f locked. */
static void read_source(struct metric_family *f)
{
	struct read_ctx r = { f->source, f };

	for (size_t i = 0; i < f->nseries; i++) {
		f->series[i].value_now = 0;
		if (f->series[i].now)
			*f->series[i].now = (struct hist_log2){};
	}
	hist_map_each(r.mm->fd, r.mm->key_size, r.mm->value_size, false, r.mm->cmp, read_entry, &r);
}

void metrics_watch_count_map(struct metrics_count_map *c)
{
	c->family->counts = c;
	list_family(c->family);
}

static void add_count(void *ctx, const void *key, const uint64_t *counters, size_t n)
{
	struct metrics_count_map *c = ctx;
	char values[METRIC_MAX_LABELS][METRIC_LABEL_SIZE];
	const char *v[METRIC_MAX_LABELS];
	struct metric_series *s;

	if (c->column >= n || !c->labels(c->ctx, key, values))
		return;
	for (size_t i = 0; i < METRIC_MAX_LABELS; i++)
		v[i] = values[i];
	s = series_of(c->family, c->family->labels, v, count_labels(c->family));
	if (s)
		s->read += counters[c->column];
}

/*
 * The map's counters now into the series; call with the family locked. A walk that fails keeps
 * the last values: a counter never goes back.
 */
static void read_counts(struct metrics_count_map *c)
{
	struct metric_family *f = c->family;

	for (size_t i = 0; i < f->nseries; i++)
		f->series[i].read = 0;
	if (count_map_each(c->fd, add_count, c))
		return;
	for (size_t i = 0; i < f->nseries; i++)
		if (f->series[i].read > f->series[i].value)
			f->series[i].value = f->series[i].read;
}

void metrics_add_object(struct bpf_object *obj)
{
	pthread_mutex_lock(&m.lock);
	if (metrics_on() && m.nobjs < ARRAY_SIZE(m.objs))
		m.objs[m.nobjs++] = obj;
	pthread_mutex_unlock(&m.lock);
}

void metrics_forget_object(struct bpf_object *obj)
{
	pthread_mutex_lock(&m.lock);
	for (size_t i = 0; i < m.nobjs; i++)
		if (m.objs[i] == obj)
			m.objs[i--] = m.objs[--m.nobjs];
	pthread_mutex_unlock(&m.lock);
}

/* A label value: UTF-8 as it is, \ " and newline escaped, other bytes as the text \xNN. */
static void label_value(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		size_t len = *p >= 0x20 ? utf8_seq_len(p, n) : 0;

		if (*p == '\\' || *p == '"')
			sb_printf(sb, "\\%c", *p);
		else if (*p == '\n')
			sb_puts(sb, "\\n");
		else if (len)
			sb_put(sb, p, len);
		else
			sb_printf(sb, "\\\\x%02x", *p);
		len = len ? len : 1;
		p += len;
		n -= len;
	}
}

/* a="x",b="y": a series' labels, written once for all its lines. */
static void label_text(struct strbuf *lab, const struct metric_series *s)
{
	lab->len = 0;
	for (size_t i = 0; i < s->nlabels; i++) {
		if (i)
			sb_putc(lab, ',');
		sb_puts(lab, s->names[i]);
		sb_puts(lab, "=\"");
		label_value(lab, s->values[i]);
		sb_putc(lab, '"');
	}
}

/* "name{labels,le="le"} ": the start of a sample line; no braces when there are no labels. */
static void sample(struct strbuf *sb, const char *name, const char *suffix,
		   const struct strbuf *lab, const char *le)
{
	sb_puts(sb, name);
	sb_puts(sb, suffix);
	if (lab->len || le) {
		sb_putc(sb, '{');
		sb_put(sb, lab->buf, lab->len);
		if (le) {
			sb_puts(sb, lab->len ? ",le=\"" : "le=\"");
			sb_puts(sb, le);
			sb_putc(sb, '"');
		}
		sb_putc(sb, '}');
	}
	sb_putc(sb, ' ');
}

static void u64_line(struct strbuf *sb, uint64_t v)
{
	sb_u64(sb, v);
	sb_putc(sb, '\n');
}

/* Nanoseconds as exact decimal seconds. */
static void seconds(char *buf, size_t size, uint64_t ns)
{
	int n = snprintf(buf, size, "%llu.%09llu", (unsigned long long)(ns / 1000000000),
			 (unsigned long long)(ns % 1000000000));

	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
}

static void seconds_line(struct strbuf *sb, uint64_t ns)
{
	char buf[32];

	seconds(buf, sizeof(buf), ns);
	sb_puts(sb, buf);
	sb_putc(sb, '\n');
}

/*
 * The bucket bounds of f: slot k holds what is below 2^k units; with plain values, of which slot
 * k holds 2^(k-1) .. 2^k - 1, exactly what is at most 2^k - 1. Returns how many.
 */
static size_t bucket_bounds(const struct metric_family *f, char (*le)[24])
{
	size_t k = 0;

	if (!f->hist_div) {
		for (; k < HIST_SLOTS - 1; k++)
			snprintf(le[k], sizeof(le[k]), "%llu", (1ull << k) - 1);
		return k;
	}
	while (k < HIST_SLOTS - 1 && (1ull << k) <= HIST_MAX_NS / f->hist_div) {
		seconds(le[k], sizeof(le[k]), (1ull << k) * f->hist_div);
		k++;
	}
	return k;
}

static void histogram(struct strbuf *sb, const struct metric_family *f,
		      const struct metric_series *s, const struct strbuf *lab, char (*le)[24],
		      size_t nle)
{
	uint64_t total = 0;

	for (size_t k = 0; k < HIST_SLOTS; k++) {
		total += s->kept->slots[k] + s->now->slots[k];
		if (k < nle) {
			sample(sb, f->name, "_bucket", lab, le[k]);
			u64_line(sb, total);
		}
	}
	sample(sb, f->name, "_bucket", lab, "+Inf");
	u64_line(sb, total);
	sample(sb, f->name, "_sum", lab, NULL);
	if (f->hist_div)
		seconds_line(sb, (s->kept->sum + s->now->sum) * (f->sum_ns ? f->sum_ns : 1));
	else
		u64_line(sb, s->kept->sum + s->now->sum);
	sample(sb, f->name, "_count", lab, NULL);
	u64_line(sb, total);
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",	  [METRIC_GAUGE] = "gauge",	[METRIC_INFO] = "gauge",
	[METRIC_HISTOGRAM] = "histogram", [METRIC_SECONDS] = "counter",
};

static void header(struct strbuf *sb, const char *name, const char *help, enum metric_type t)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type_names[t]);
}

static void family(struct strbuf *sb, struct metric_family *f)
{
	char le[HIST_SLOTS][24];
	size_t nle = f->type == METRIC_HISTOGRAM ? bucket_bounds(f, le) : 0;
	struct strbuf lab = {};

	pthread_mutex_lock(&f->lock);
	if (f->source)
		read_source(f);
	if (f->counts)
		read_counts(f->counts);
	header(sb, f->name, f->help, f->type);
	for (size_t i = 0; i < f->nseries; i++) {
		const struct metric_series *s = &f->series[i];

		label_text(&lab, s);
		if (f->type == METRIC_HISTOGRAM) {
			histogram(sb, f, s, &lab, le, nle);
			continue;
		}
		sample(sb, f->name, "", &lab, NULL);
		if (f->type == METRIC_SECONDS)
			seconds_line(sb, s->value + s->value_now);
		else
			u64_line(sb, s->value + s->value_now);
	}
	pthread_mutex_unlock(&f->lock);
	sb_free(&lab);
}

/* tp_btf, raw_tp, tracepoint, kprobe, uprobe...: the section's prefix is how libbpf attaches it. */
static void method_of(const struct bpf_program *p, char *buf, size_t size)
{
	const char *sec = bpf_program__section_name(p);

	snprintf(buf, size, "%.*s", (int)strcspn(sec, "/"), sec);
}

static void program_lines(struct strbuf *info, struct strbuf *runs, struct strbuf *times,
			  const struct bpf_object *obj)
{
	const char *sub = strchr(prog_name, ' ') ? strchr(prog_name, ' ') + 1 : prog_name;
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);
		char method[32], secs[32];

		if (bpf_program__fd(p) < 0)
			continue;
		method_of(p, method, sizeof(method));
		sb_printf(info,
			  "ebpftrace_build_info{version=\"%s\",libbpf=\"%u.%u\",subcommand=\"%s\","
			  "program=\"%s\",method=\"%s\"} 1\n",
			  EBPFTRACE_VERSION, libbpf_major_version(), libbpf_minor_version(), sub,
			  bpf_program__name(p), method);
		if (bpf_prog_get_info_by_fd(bpf_program__fd(p), &pi, &len))
			continue;
		sb_printf(runs, "ebpftrace_program_runs_total{program=\"%s\"} %llu\n",
			  bpf_program__name(p), (unsigned long long)pi.run_cnt);
		seconds(secs, sizeof(secs), pi.run_time_ns);
		sb_printf(times, "ebpftrace_program_run_seconds_total{program=\"%s\"} %s\n",
			  bpf_program__name(p), secs);
	}
}

static void self_metrics(struct strbuf *sb)
{
	struct strbuf info = {}, runs = {}, times = {};
	uint64_t lost = 0;

	pthread_mutex_lock(&m.lock);
	for (size_t i = 0; i < m.nobjs; i++) {
		program_lines(&info, &runs, &times, m.objs[i]);
		lost += lost_events_read(m.objs[i]);
	}
	pthread_mutex_unlock(&m.lock);
	header(sb, "ebpftrace_build_info", "Version, libbpf and the attach method of each program",
	       METRIC_GAUGE);
	sb_put(sb, info.buf, info.len);
	header(sb, "ebpftrace_lost_events_total",
	       "Events the BPF side could not hand over (ring buffer or table full)",
	       METRIC_COUNTER);
	sb_printf(sb, "ebpftrace_lost_events_total %llu\n", (unsigned long long)lost);
	header(sb, "ebpftrace_metrics_dropped_total",
	       "Updates dropped because --metrics-max-series was reached", METRIC_COUNTER);
	sb_printf(sb, "ebpftrace_metrics_dropped_total %llu\n",
		  (unsigned long long)atomic_load(&m.dropped));
	/* The kernel counts only while statistics are on (kernel.bpf_stats_enabled, or an fd of
	 * BPF_ENABLE_STATS, which the sysctl does not show): the counts then stand still. */
	header(sb, "ebpftrace_program_runs_total",
	       "Runs of each BPF program while kernel.bpf_stats_enabled is on", METRIC_COUNTER);
	sb_put(sb, runs.buf, runs.len);
	header(sb, "ebpftrace_program_run_seconds_total",
	       "Time in each BPF program while kernel.bpf_stats_enabled is on", METRIC_COUNTER);
	sb_put(sb, times.buf, times.len);
	sb_free(&info);
	sb_free(&runs);
	sb_free(&times);
}

struct strbuf metrics_text(void)
{
	struct strbuf sb = {};
	struct metric_family *f;

	pthread_mutex_lock(&m.lock);
	f = m.families;
	pthread_mutex_unlock(&m.lock);
	/* Families are only ever appended: next pointers, once set, stay. */
	for (; f; f = __atomic_load_n(&f->next, __ATOMIC_ACQUIRE))
		family(&sb, f);
	self_metrics(&sb);
	return sb;
}

/* libmicrohttpd, opened by metrics_start (see dynlib.h). */
/* clang-format off */
#define MHD_FUNCTIONS(F)							\
	F(MHD_start_daemon) F(MHD_stop_daemon) F(MHD_create_response_from_buffer)	\
	F(MHD_add_response_header) F(MHD_queue_response) F(MHD_destroy_response)
/* clang-format on */
DYNLIB_TABLE(mhd, MHD_FUNCTIONS);

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r = mhd.MHD_create_response_from_buffer(strlen(text), (void *)text,
								     MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.MHD_queue_response(c, status, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_size, void **state)
{
	struct MHD_Response *r;
	struct strbuf sb;
	enum MHD_Result ret;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: metrics are at /metrics\n");
	sb = metrics_text();
	r = mhd.MHD_create_response_from_buffer(sb.len, sb.buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		sb_free(&sb);
		return MHD_NO;
	}
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = mhd.MHD_queue_response(c, MHD_HTTP_OK, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

static int listen_socket(int *fd)
{
	int one = 1, err;

	*fd = socket(m.listen.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&m.listen.addr, m.listen.addr_len) || listen(*fd, 64)) {
		err = -errno;
		close(*fd);
		return err;
	}
	return 0;
}

static int bind_error(int err)
{
	if (err == -EADDRNOTAVAIL) {
		err_msg("cannot serve metrics on %s: not an address of this host", m.arg);
		return EXIT_USAGE;
	}
	if (err == -EADDRINUSE)
		err_msg("cannot serve metrics on %s: the port is already in use", m.arg);
	else
		err_msg("cannot serve metrics on %s: %s", m.arg, strerror(-err));
	return EXIT_RUNTIME;
}

/*
 * The server's thread must leave SIGINT, SIGTERM and SIGHUP to the main thread, whose sleeps they
 * cut.
 */
static struct MHD_Daemon *start_daemon(int fd)
{
	sigset_t all, old;
	struct MHD_Daemon *d;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	d = mhd.MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				 serve, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				 MHD_OPTION_CONNECTION_LIMIT, 16, MHD_OPTION_CONNECTION_TIMEOUT, 10,
				 MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

int metrics_start(void)
{
	int fd, err;

	if (!metrics_on())
		return EXIT_OK;
	if (DYNLIB_LOAD(mhd, ((const char *const[]){ "libmicrohttpd.so.12", NULL }), "--metrics"))
		return EXIT_RUNTIME;
	err = listen_socket(&fd);
	if (err)
		return bind_error(err);
	m.daemon = start_daemon(fd);
	if (!m.daemon) {
		close(fd);
		err_msg("cannot start the metrics server on %s", m.arg);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "%s: metrics at http://%s%s/metrics%s\n", prog_name,
		m.listen.explicit_addr ? "" : "127.0.0.1:", m.arg,
		m.listen.explicit_addr ? ""
				       : " (loopback only: give ADDR:PORT to listen elsewhere)");
	return EXIT_OK;
}

void metrics_stop(void)
{
	if (!m.daemon)
		return;
	mhd.MHD_stop_daemon(m.daemon);
	m.daemon = NULL;
	pthread_mutex_lock(&m.lock);
	m.nobjs = 0;
	pthread_mutex_unlock(&m.lock);
}
