// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "kfunc.h"
#include "strbuf.h"

static int fail(int err, char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int err, char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return err;
}

static void dump_printf(void *ctx, const char *fmt, va_list args)
{
	sb_vprintf(ctx, fmt, args);
}

/* The C declaration of type id ("struct file *"), as the kernel's headers spell it. */
static void type_decl(const struct btf *btf, __u32 id, char *buf, size_t size)
{
	struct strbuf sb = {};
	struct btf_dump *d = btf_dump__new(btf, dump_printf, &sb, NULL);

	snprintf(buf, size, "type %u", id);
	if (!d)
		return;
	if (!btf_dump__emit_type_decl(d, id, NULL) && sb.len)
		snprintf(buf, size, "%.*s", (int)sb.len, sb.buf);
	btf_dump__free(d);
	sb_free(&sb);
}

/* The parameter of proto that arg names ("argN" or its name), or -1 after saying why not. */
static int param_index(const struct btf *btf, const struct btf_type *proto, const char *func,
		       const char *arg, char *msg, size_t size)
{
	const struct btf_param *p = btf_params(proto);
	int n = btf_vlen(proto), i;
	char *end;

	if (n && !p[n - 1].type)
		n--; /* the ... of a variadic function */
	if (!strncmp(arg, "arg", 3) && arg[3] >= '0' && arg[3] <= '9') {
		i = strtol(arg + 3, &end, 10);
		if (!*end && i < n)
			return i;
		if (!*end)
			return fail(-1, msg, size, "%s has %d argument%s (arg0..arg%d): no %s",
				    func, n, n == 1 ? "" : "s", n - 1, arg);
	}
	for (i = 0; i < n; i++)
		if (!strcmp(btf__name_by_offset(btf, p[i].name_off), arg))
			return i;
	return fail(-1, msg, size, "%s has no parameter '%s' (give arg0..arg%d, a name, or ret)",
		    func, arg, n - 1);
}

/* The 64-bit slot of parameter i: a struct passed by value may take two. */
static int param_slot(const struct btf *btf, const struct btf_type *proto, int i)
{
	const struct btf_param *p = btf_params(proto);
	int slot = 0;

	for (int j = 0; j < i; j++)
		slot += (btf__resolve_size(btf, p[j].type) + 7) / 8;
	return slot;
}

/* Size and signedness of an integer (or enum) type; -EDOM when it is none. */
static int integer_of(const struct btf *btf, __u32 id, struct kfunc_value *v)
{
	int real = btf__resolve_type(btf, id);
	const struct btf_type *t = real < 0 ? NULL : btf__type_by_id(btf, real);

	if (!t || !(btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t)) || t->size > 8)
		return -EDOM;
	v->size = t->size;
	v->is_signed = btf_is_int(t) ? !!(btf_int_encoding(t) & BTF_INT_SIGNED) : btf_kflag(t);
	return 0;
}

static int value_of(const struct btf *btf, const char *func, const char *arg, struct kfunc_value *v,
		    char *msg, size_t size)
{
	int id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC), i;
	const struct btf_type *proto;
	__u32 type;

	if (id < 0)
		return fail(-ENOENT, msg, size, "unknown function '%s': not in the kernel's BTF",
			    func);
	proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	v->is_ret = !strcmp(arg, "ret");
	if (v->is_ret) {
		type = proto->type;
		if (!type)
			return fail(-EDOM, msg, size, "%s returns void: no ret to count", func);
	} else {
		i = param_index(btf, proto, func, arg, msg, size);
		if (i < 0)
			return -EINVAL;
		type = btf_params(proto)[i].type;
		v->slot = param_slot(btf, proto, i);
		if (v->slot >= KFUNC_ARG_SLOTS)
			return fail(-EINVAL, msg, size,
				    "%s of %s is not passed in a register (only the first %d are)",
				    arg, func, KFUNC_ARG_SLOTS);
	}
	type_decl(btf, type, v->type, sizeof(v->type));
	if (integer_of(btf, type, v))
		return fail(-EDOM, msg, size, "%s of %s is %s, not an integer", arg, func, v->type);
	return 0;
}

int kfunc_value(const char *func, const char *arg, struct kfunc_value *v, char *msg, size_t size)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int err;

	*v = (struct kfunc_value){};
	if (!btf)
		return fail(-errno, msg, size, "cannot read the kernel's BTF: %s", strerror(errno));
	err = value_of(btf, func, arg, v, msg, size);
	btf__free(btf);
	return err;
}
