/*
 * pgtype_check — runs PostgreSQL text values through source/pg/pgtype.c and
 * prints what floe stored, in a canonical form a test can compute
 * independently in SQL (tests/integration/test_pgtype_text.py).
 *
 * Input (stdin), one value per line, tab-separated:
 *   oid base_oid typmod typtype elem_oid elem_typmod elem_typtype type_name hex
 * the pgtype_desc fields (typtype chars as themselves, "-" for none) and the
 * value's text output as hex (so any byte can travel).
 *
 * Output, one line per input line:
 *   OK <canonical>   the value was mapped and stored
 *   ERR <message>    pgtype_map or pgtype_set_text refused it (the message)
 * Canonical forms by floe type:
 *   boolean 1/0; int16/32/64, date32 (days), time, timestamp, timestamptz
 *   (micros) as decimal integers; float32/64 the IEEE bits as big-endian hex
 *   (like float4send/float8send); decimal the unscaled integer; string,
 *   binary, uuid the bytes as lower-case hex.
 * An array type (elem_oid != 0) is split instead (pgtype_array_split after
 * pgtype_map_element): per element N for a null, else v and its bytes as
 * hex, joined by ','.
 * Exits 0 when every line was handled (whatever OK/ERR), 1 on bad input.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "source/pg/pgtype.h"

static void put_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int unhex(const char *s, uint8_t *out, size_t *n)
{
	size_t len = strlen(s);
	if (len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			return -1;
		out[i / 2] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static void put_i128(__int128 v)
{
	char d[48];
	int n = 0;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		d[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		putchar('-');
	while (n)
		putchar(d[--n]);
}

static int print_elem(void *ctx, const char *elem, size_t n, int is_null)
{
	buf *out = ctx;
	if (out->len)
		buf_put_u8(out, ',');
	buf_put_u8(out, is_null ? 'N' : 'v');
	for (size_t i = 0; !is_null && i < n; i++)
		buf_printf(out, "%02x", (unsigned char)elem[i]);
	return buf_ok(out) ? 0 : FLOE_ENOMEM;
}

static void canonical(const batch *b, const floe_column *c)
{
	const batch_col *bc = &b->cols[0];
	const uint8_t *v = bc->values.data;
	int32_t i32;
	int64_t i64;
	switch (bc->kind) {
	case BC_BOOL:
		printf("%d", v[0]);
		return;
	case BC_I32:
		memcpy(&i32, v, 4);
		printf("%" PRId32, i32);
		return;
	case BC_I64:
		memcpy(&i64, v, 8);
		printf("%" PRId64, i64);
		return;
	case BC_F32: {
		uint32_t u;
		memcpy(&u, v, 4);
		printf("%08" PRIx32, u);
		return;
	}
	case BC_F64: {
		uint64_t u;
		memcpy(&u, v, 8);
		printf("%016" PRIx64, u);
		return;
	}
	case BC_FIXED:
		if (c->type == FT_DECIMAL) {
			__int128 x = (v[0] & 0x80) ? -1 : 0;
			for (int k = 0; k < bc->width; k++)
				x = (__int128)((unsigned __int128)x << 8) | v[k];
			put_i128(x);
		} else {
			put_hex(v, (size_t)bc->width);
		}
		return;
	default: {
		uint64_t off[2];
		memcpy(off, bc->offsets.data, sizeof off);
		put_hex(bc->bytes.data + off[0], (size_t)(off[1] - off[0]));
		return;
	}
	}
}

static int one(char *line)
{
	char *f[9];
	int nf = 0;
	for (char *p = line; nf < 9; nf++) {
		f[nf] = p;
		char *tab = strchr(p, '\t');
		if (!tab) {
			nf++;
			break;
		}
		*tab = '\0';
		p = tab + 1;
	}
	if (nf != 9)
		return -1;
	pgtype_desc d = {
	    .oid = (uint32_t)strtoul(f[0], NULL, 10),
	    .base_oid = (uint32_t)strtoul(f[1], NULL, 10),
	    .typmod = (int32_t)strtol(f[2], NULL, 10),
	    .typtype = f[3][0] == '-' ? 0 : f[3][0],
	    .elem_oid = (uint32_t)strtoul(f[4], NULL, 10),
	    .elem_typmod = (int32_t)strtol(f[5], NULL, 10),
	    .elem_typtype = f[6][0] == '-' ? 0 : f[6][0],
	    .type_name = f[7],
	};
	size_t n;
	uint8_t *text = malloc(strlen(f[8]) / 2 + 1);
	if (!text || unhex(f[8], text, &n)) {
		free(text);
		return -1;
	}
	char err[ERR_LEN];
	floe_column col = {.name = "v", .nullable = 1};
	if (d.elem_oid) {
		floe_column elem = col;
		buf out = {0};
		if (pgtype_map_element(&d, &elem, err) ||
		    pgtype_array_split("v", (const char *)text, n, ',', print_elem, &out, err))
			printf("ERR %s\n", err);
		else
			printf("OK %.*s\n", (int)out.len, out.data ? (const char *)out.data : "");
		buf_release(&out);
		free(text);
		return 0;
	}
	if (pgtype_map(&d, &col, err)) {
		printf("ERR %s\n", err);
		free(text);
		return 0;
	}
	floe_schema s = {1, &col};
	batch b;
	if (batch_init(&b, &s)) {
		free(text);
		return -1;
	}
	batch_row_begin(&b);
	if (pgtype_set_text(&b, 0, &col, &d, (const char *)text, n, err)) {
		printf("ERR %s\n", err);
	} else {
		batch_row_commit(&b);
		printf("OK ");
		canonical(&b, &col);
		putchar('\n');
	}
	batch_clear(&b);
	free(text);
	return 0;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (one(line)) {
			fprintf(stderr, "pgtype_check: bad input line\n");
			rc = 1;
			break;
		}
	}
	free(line);
	return rc;
}
