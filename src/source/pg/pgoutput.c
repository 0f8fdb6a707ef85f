/*
 * pgoutput — decoder of the logical replication stream; see pgoutput.h for
 * the contract (versions, lifetime, errors).
 *
 * Byte layout. Every integer is big-endian; [xid] is an Int32 present only
 * inside a streamed transaction (between Stream Start and Stream Stop, proto
 * >= 2); String is bytes up to and including a NUL.
 *
 *   CopyData 'w'  walStart:Int64 walEnd:Int64 sendTime:Int64 payload:Byte*
 *   CopyData 'k'  walEnd:Int64 sendTime:Int64 replyRequested:Int8(0|1)
 *   CopyData 'r'  write:Int64 flush:Int64 apply:Int64 clock:Int64 reply:Int8
 *                 (client -> server, standby status update)
 *
 *   'B' Begin           finalLsn:Int64(!=0) commitTime:Int64 xid:Int32
 *   'C' Commit          flags:Int8(0) commitLsn:Int64 endLsn:Int64 commitTime:Int64
 *   'O' Origin          lsn:Int64 name:String
 *   'R' Relation        [xid] oid:Int32 nspname:String relname:String
 *                       replident:Int8('d'|'n'|'f'|'i') ncols:Int16
 *                       ncols x { flags:Int8(0|1) name:String type:Int32 typmod:Int32 }
 *   'Y' Type            [xid] oid:Int32 nspname:String name:String
 *   'I' Insert          [xid] relid:Int32 'N' TupleData
 *   'U' Update          [xid] relid:Int32 [('K'|'O') TupleData] 'N' TupleData
 *   'D' Delete          [xid] relid:Int32 ('K'|'O') TupleData
 *   'T' Truncate        [xid] nrelids:Int32 options:Int8(bit 1 cascade,
 *                       bit 2 restart identity) nrelids x relid:Int32
 *   'M' Message         [xid] flags:Int8(0|1 transactional) lsn:Int64
 *                       prefix:String len:Int32 content:Byte*len
 *   'S' Stream Start    xid:Int32 firstSegment:Int8(0|1)
 *   'E' Stream Stop     (nothing)
 *   'c' Stream Commit   xid:Int32 flags:Int8(0) commitLsn:Int64 endLsn:Int64
 *                       commitTime:Int64
 *   'A' Stream Abort    xid:Int32 subxid:Int32 [abortLsn:Int64 abortTime:Int64]
 *                       (the bracketed pair only in proto >= 4, streaming=parallel)
 *   'b' Begin Prepare   prepareLsn:Int64 endLsn:Int64 prepareTime:Int64 xid:Int32 gid:String
 *   'P' Prepare         flags:Int8(0) prepareLsn endLsn prepareTime xid gid
 *   'K' Commit Prepared flags:Int8(0) commitLsn:Int64 endLsn:Int64 commitTime:Int64
 *                       xid:Int32 gid:String
 *   'r' Rollback Prep.  flags:Int8(0) prepareEndLsn:Int64 rollbackEndLsn:Int64
 *                       prepareTime:Int64 rollbackTime:Int64 xid:Int32 gid:String
 *   'p' Stream Prepare  flags:Int8(0) prepareLsn endLsn prepareTime xid gid
 *
 *   TupleData  ncols:Int16, ncols x one of
 *              'n' (null) | 'u' (unchanged TOAST) | 't' len:Int32 Byte*len
 *              | 'b' len:Int32 Byte*len
 *
 * Rules of a valid message (each violation is FLOE_ECORRUPT at its byte):
 *   1. Every field lies inside the bytes; a length is compared with the bytes
 *      remaining before anything is allocated or read (so a hostile count
 *      can neither overrun nor make us allocate more than the message's size
 *      justifies).
 *   2. Tag bytes and flags take only the values above.
 *   3. A message of a higher protocol version than the decoder's is refused;
 *      Stream Start inside a stream, Stream Stop outside one, and Begin,
 *      Commit, Stream Commit/Abort/Prepare and the two-phase messages inside
 *      one are refused (they cannot be there, and the [xid] rule depends on
 *      knowing where we are).
 *   4. pgo_decode: nothing follows the last field.
 *
 * The decoder's only state is the protocol version and whether a stream
 * block is open; it changes only after a message decoded successfully.
 */
#include "source/pg/pgoutput.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"

struct pgo_decoder {
	int proto;
	int in_stream;
	/* Scratch reused by every message (the "per-message context"). */
	pgo_value *old_cols;
	size_t old_cap;
	pgo_value *new_cols;
	size_t new_cap;
	pgo_column *rel_cols;
	size_t rel_cap;
	uint32_t *relids;
	size_t relids_cap;
};

/* ---- bounds-checked reader ----------------------------------------------- */

typedef struct rd {
	const uint8_t *p;
	size_t n;         /* total bytes */
	size_t off;       /* next byte to read */
	const char *what; /* "Insert message", "XLogData frame" ... for errors */
	char *err;
} rd;

static size_t rd_left(const rd *r)
{
	return r->n - r->off;
}

static int rd_short(rd *r, size_t need, const char *field)
{
	return errf(r->err, FLOE_ECORRUPT,
	            "pgoutput: %s truncated at byte %zu: %s needs %zu bytes, %zu remain", r->what,
	            r->off, field, need, rd_left(r));
}

static int rd_u8(rd *r, const char *field, uint8_t *v)
{
	*v = 0; /* defined even on failure */
	if (rd_left(r) < 1)
		return rd_short(r, 1, field);
	*v = r->p[r->off++];
	return 0;
}

static int rd_u16(rd *r, const char *field, uint16_t *v)
{
	*v = 0; /* defined even on failure */
	if (rd_left(r) < 2)
		return rd_short(r, 2, field);
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

static int rd_u32(rd *r, const char *field, uint32_t *v)
{
	*v = 0; /* defined even on failure */
	if (rd_left(r) < 4)
		return rd_short(r, 4, field);
	*v = get_be32(r->p + r->off);
	r->off += 4;
	return 0;
}

static int rd_u64(rd *r, const char *field, uint64_t *v)
{
	*v = 0; /* defined even on failure */
	if (rd_left(r) < 8)
		return rd_short(r, 8, field);
	*v = get_be64(r->p + r->off);
	r->off += 8;
	return 0;
}

static int rd_i64(rd *r, const char *field, int64_t *v)
{
	uint64_t u;
	int rc = rd_u64(r, field, &u);
	*v = (int64_t)u; /* two's complement (implementation-defined, universal) */
	return rc;
}

/* A NUL-terminated string inside the bytes; *s points at it. */
static int rd_str(rd *r, const char *field, const char **s)
{
	const uint8_t *z = rd_left(r) ? memchr(r->p + r->off, 0, rd_left(r)) : NULL;
	*s = "";
	if (!z)
		return errf(r->err, FLOE_ECORRUPT,
		            "pgoutput: %s truncated at byte %zu: %s has no terminating NUL in the "
		            "%zu bytes remaining",
		            r->what, r->off, field, rd_left(r));
	*s = (const char *)(r->p + r->off);
	r->off = (size_t)(z - r->p) + 1;
	return 0;
}

/* n raw bytes; *b points at them. */
static int rd_bytes(rd *r, const char *field, size_t len, const uint8_t **b)
{
	*b = NULL;
	if (rd_left(r) < len)
		return rd_short(r, len, field);
	*b = r->p + r->off;
	r->off += len;
	return 0;
}

/* Error for a bad value in the byte just read (at off - 1) or at `at`. */
static int rd_bad(rd *r, size_t at, const char *field, unsigned v, const char *allowed)
{
	return errf(r->err, FLOE_ECORRUPT,
	            "pgoutput: %s: bad %s %u (0x%02x) at byte %zu; expected %s", r->what, field, v,
	            v, at, allowed);
}

/* A flags byte that must be 0. */
static int rd_flags0(rd *r)
{
	uint8_t f = 0;
	int rc = rd_u8(r, "flags", &f);
	if (rc)
		return rc;
	if (f != 0)
		return rd_bad(r, r->off - 1, "flags", f, "0");
	return 0;
}

/* ---- scratch --------------------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < want)
		c *= 2;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return FLOE_ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- public: decoder lifetime ----------------------------------------------- */

int pgo_decoder_new(int proto_version, pgo_decoder **out)
{
	*out = NULL;
	if (proto_version < PGO_PROTO_MIN || proto_version > PGO_PROTO_MAX)
		return FLOE_EINVAL;
	pgo_decoder *d = calloc(1, sizeof *d);
	if (!d)
		return FLOE_ENOMEM;
	d->proto = proto_version;
	*out = d;
	return 0;
}

void pgo_decoder_free(pgo_decoder *d)
{
	if (!d)
		return;
	free(d->old_cols);
	free(d->new_cols);
	free(d->rel_cols);
	free(d->relids);
	free(d);
}

int pgo_decoder_in_stream(const pgo_decoder *d)
{
	return d->in_stream;
}

const char *pgo_type_name(int type)
{
	switch (type) {
	case PGO_BEGIN:
		return "Begin";
	case PGO_COMMIT:
		return "Commit";
	case PGO_ORIGIN:
		return "Origin";
	case PGO_RELATION:
		return "Relation";
	case PGO_TYPE:
		return "Type";
	case PGO_INSERT:
		return "Insert";
	case PGO_UPDATE:
		return "Update";
	case PGO_DELETE:
		return "Delete";
	case PGO_TRUNCATE:
		return "Truncate";
	case PGO_MESSAGE:
		return "Message";
	case PGO_STREAM_START:
		return "Stream Start";
	case PGO_STREAM_STOP:
		return "Stream Stop";
	case PGO_STREAM_COMMIT:
		return "Stream Commit";
	case PGO_STREAM_ABORT:
		return "Stream Abort";
	case PGO_BEGIN_PREPARE:
		return "Begin Prepare";
	case PGO_PREPARE:
		return "Prepare";
	case PGO_COMMIT_PREPARED:
		return "Commit Prepared";
	case PGO_ROLLBACK_PREPARED:
		return "Rollback Prepared";
	case PGO_STREAM_PREPARE:
		return "Stream Prepare";
	default:
		return "unknown";
	}
}

/* ---- message parts ------------------------------------------------------------ */

/* pgoutput sends pg_catalog as an empty namespace to save space. */
static const char *nsp_name(const char *s)
{
	return s[0] ? s : "pg_catalog";
}

static int read_tuple(rd *r, pgo_value **scratch, size_t *cap, pgo_tuple *t)
{
	uint16_t ncols = 0;
	int rc = rd_u16(r, "tuple column count", &ncols);
	if (rc)
		return rc;
	/* Each column takes at least its kind byte. */
	if (ncols > rd_left(r))
		return errf(r->err, FLOE_ECORRUPT,
		            "pgoutput: %s truncated at byte %zu: tuple of %u columns needs at "
		            "least %u bytes, %zu remain",
		            r->what, r->off, ncols, ncols, rd_left(r));
	if (grow((void **)scratch, cap, ncols, sizeof **scratch))
		return errf(r->err, FLOE_ENOMEM,
		            "pgoutput: out of memory for a tuple of %u columns", ncols);
	pgo_value *cols = *scratch;
	for (uint16_t i = 0; i < ncols; i++) {
		uint8_t kind = 0;
		if ((rc = rd_u8(r, "column kind", &kind)))
			return rc;
		cols[i] = (pgo_value){.kind = (char)kind};
		switch (kind) {
		case PGO_VAL_NULL:
		case PGO_VAL_UNCHANGED:
			break;
		case PGO_VAL_TEXT:
		case PGO_VAL_BINARY: {
			uint32_t len = 0;
			if ((rc = rd_u32(r, "column value length", &len)))
				return rc;
			if ((rc = rd_bytes(r, "column value", len, &cols[i].data)))
				return rc;
			cols[i].len = len;
			break;
		}
		default:
			return rd_bad(r, r->off - 1, "column kind", kind, "'n', 'u', 't' or 'b'");
		}
	}
	t->ncols = ncols;
	t->cols = ncols ? cols : NULL;
	return 0;
}

static int read_relation(pgo_decoder *d, rd *r, pgo_relation *rel)
{
	int rc;
	const char *nsp;
	uint8_t ident = 0;
	uint16_t ncols;
	if ((rc = rd_u32(r, "relation oid", &rel->oid)) || (rc = rd_str(r, "namespace", &nsp)) ||
	    (rc = rd_str(r, "relation name", &rel->relname)) ||
	    (rc = rd_u8(r, "replica identity", &ident)))
		return rc;
	if (ident != PGO_IDENT_DEFAULT && ident != PGO_IDENT_NOTHING && ident != PGO_IDENT_FULL &&
	    ident != PGO_IDENT_INDEX)
		return rd_bad(r, r->off - 1, "replica identity", ident, "'d', 'n', 'f' or 'i'");
	if ((rc = rd_u16(r, "column count", &ncols)))
		return rc;
	/* flags + at least a NUL + type + typmod */
	if ((size_t)ncols * 10 > rd_left(r))
		return errf(r->err, FLOE_ECORRUPT,
		            "pgoutput: %s truncated at byte %zu: %u columns need at least %zu "
		            "bytes, %zu remain",
		            r->what, r->off, ncols, (size_t)ncols * 10, rd_left(r));
	if (grow((void **)&d->rel_cols, &d->rel_cap, ncols, sizeof *d->rel_cols))
		return errf(r->err, FLOE_ENOMEM, "pgoutput: out of memory for %u columns", ncols);
	for (uint16_t i = 0; i < ncols; i++) {
		pgo_column *c = &d->rel_cols[i];
		uint32_t typmod = 0;
		if ((rc = rd_u8(r, "column flags", &c->flags)))
			return rc;
		if (c->flags & ~PGO_COL_KEY)
			return rd_bad(r, r->off - 1, "column flags", c->flags, "0 or 1");
		if ((rc = rd_str(r, "column name", &c->name)) ||
		    (rc = rd_u32(r, "column type", &c->type_oid)) ||
		    (rc = rd_u32(r, "column typmod", &typmod)))
			return rc;
		c->typmod = (int32_t)typmod;
	}
	rel->nspname = nsp_name(nsp);
	rel->replident = (char)ident;
	rel->ncols = ncols;
	rel->cols = ncols ? d->rel_cols : NULL;
	return 0;
}

/* The 'N' / 'K' / 'O' marker before a tuple. */
static int read_marker(rd *r, const char *allowed, char *out)
{
	uint8_t m = 0;
	int rc = rd_u8(r, "tuple marker", &m);
	if (rc)
		return rc;
	if (!m || !strchr(allowed, m)) {
		char want[32];
		size_t k = 0;
		for (const char *a = allowed; *a && k + 6 < sizeof want; a++)
			k += (size_t)snprintf(want + k, sizeof want - k, "%s'%c'", k ? " or " : "",
			                      *a);
		return rd_bad(r, r->off - 1, "tuple marker", m, want);
	}
	*out = (char)m;
	return 0;
}

static int read_change(pgo_decoder *d, rd *r, char type, pgo_msg *m)
{
	int rc;
	char mark;
	if ((rc = rd_u32(r, "relation id", &m->change.relid)))
		return rc;
	m->change.old_kind = 0;
	m->change.old_tuple = (pgo_tuple){0};
	m->change.new_tuple = (pgo_tuple){0};
	switch (type) {
	case PGO_INSERT:
		if ((rc = read_marker(r, "N", &mark)))
			return rc;
		return read_tuple(r, &d->new_cols, &d->new_cap, &m->change.new_tuple);
	case PGO_UPDATE:
		if ((rc = read_marker(r, "KON", &mark)))
			return rc;
		if (mark != 'N') {
			m->change.old_kind = mark;
			if ((rc = read_tuple(r, &d->old_cols, &d->old_cap, &m->change.old_tuple)) ||
			    (rc = read_marker(r, "N", &mark)))
				return rc;
		}
		return read_tuple(r, &d->new_cols, &d->new_cap, &m->change.new_tuple);
	default: /* PGO_DELETE */
		if ((rc = read_marker(r, "KO", &mark)))
			return rc;
		m->change.old_kind = mark;
		return read_tuple(r, &d->old_cols, &d->old_cap, &m->change.old_tuple);
	}
}

static int read_truncate(pgo_decoder *d, rd *r, pgo_msg *m)
{
	int rc;
	uint32_t n = 0;
	uint8_t opt;
	if ((rc = rd_u32(r, "relation count", &n)) || (rc = rd_u8(r, "options", &opt)))
		return rc;
	if (opt & ~3u)
		return rd_bad(r, r->off - 1, "options", opt,
		              "bits 1 (cascade) and 2 (restart identity)");
	if ((uint64_t)n * 4 > rd_left(r))
		return errf(r->err, FLOE_ECORRUPT,
		            "pgoutput: %s truncated at byte %zu: %u relation ids need %llu bytes, "
		            "%zu remain",
		            r->what, r->off, (unsigned)n, (unsigned long long)n * 4, rd_left(r));
	if (grow((void **)&d->relids, &d->relids_cap, n, sizeof *d->relids))
		return errf(r->err, FLOE_ENOMEM, "pgoutput: out of memory for %u relation ids",
		            (unsigned)n);
	for (uint32_t i = 0; i < n; i++)
		if ((rc = rd_u32(r, "relation id", &d->relids[i])))
			return rc;
	m->truncate.cascade = (opt & 1) != 0;
	m->truncate.restart_identity = (opt & 2) != 0;
	m->truncate.nrelids = n;
	m->truncate.relids = n ? d->relids : NULL;
	return 0;
}

static int read_message(rd *r, pgo_msg *m)
{
	int rc;
	uint8_t flags = 0;
	uint32_t len;
	if ((rc = rd_u8(r, "flags", &flags)))
		return rc;
	if (flags > 1)
		return rd_bad(r, r->off - 1, "flags", flags, "0 or 1 (transactional)");
	if ((rc = rd_u64(r, "lsn", &m->message.lsn)) ||
	    (rc = rd_str(r, "prefix", &m->message.prefix)) ||
	    (rc = rd_u32(r, "content length", &len)) ||
	    (rc = rd_bytes(r, "content", len, &m->message.content)))
		return rc;
	m->message.transactional = flags;
	m->message.len = len;
	return 0;
}

/* Begin Prepare (no flags) and Prepare / Commit Prepared / Stream Prepare. */
static int read_prepare(rd *r, int has_flags, pgo_msg *m)
{
	int rc;
	if (has_flags && (rc = rd_flags0(r)))
		return rc;
	if ((rc = rd_u64(r, "lsn", &m->prepare.lsn)) ||
	    (rc = rd_u64(r, "end lsn", &m->prepare.end_lsn)) ||
	    (rc = rd_i64(r, "timestamp", &m->prepare.time)) || (rc = rd_u32(r, "xid", &m->xid)) ||
	    (rc = rd_str(r, "gid", &m->prepare.gid)))
		return rc;
	m->has_xid = 1;
	return 0;
}

static int decode(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *m, size_t *used, char *err)
{
	rd r = {.p = p, .n = n, .off = 0, .what = "message", .err = err};
	uint8_t t = 0;
	int rc;
	memset(m, 0, sizeof *m);
	if ((rc = rd_u8(&r, "message type", &t)))
		return rc;
	const char *name = pgo_type_name(t);
	if (!strcmp(name, "unknown"))
		return rd_bad(&r, 0, "message type", t, "a pgoutput message type");
	char what[48];
	snprintf(what, sizeof what, "%s message", name);
	r.what = what;
	m->type = (char)t;

	int need = 1;
	if (t == 'S' || t == 'E' || t == 'c' || t == 'A')
		need = 2;
	else if (t == 'b' || t == 'P' || t == 'K' || t == 'r' || t == 'p')
		need = 3;
	if (d->proto < need)
		return errf(err, FLOE_ECORRUPT,
		            "pgoutput: %s at byte 0 needs protocol version %d; the stream uses %d",
		            what, need, d->proto);

	/* Messages that may be part of a streamed transaction carry its xid. */
	int streamable =
	    t == 'R' || t == 'Y' || t == 'I' || t == 'U' || t == 'D' || t == 'T' || t == 'M';
	/* Origin follows Stream Start as its own message, without an xid. */
	if (d->in_stream && !streamable && t != 'E' && t != 'O')
		return errf(err, FLOE_ECORRUPT,
		            "pgoutput: %s at byte 0 inside a streamed block (after Stream Start, "
		            "before Stream Stop)",
		            what);
	if (d->in_stream && streamable) {
		if ((rc = rd_u32(&r, "xid", &m->xid)))
			return rc;
		m->has_xid = 1;
	}

	switch (t) {
	case PGO_BEGIN:
		if ((rc = rd_u64(&r, "final lsn", &m->begin.final_lsn)))
			return rc;
		if (m->begin.final_lsn == 0)
			return errf(err, FLOE_ECORRUPT, "pgoutput: %s: final lsn is 0 at byte 1",
			            what);
		if ((rc = rd_i64(&r, "commit time", &m->begin.commit_time)) ||
		    (rc = rd_u32(&r, "xid", &m->xid)))
			return rc;
		m->has_xid = 1;
		break;
	case PGO_COMMIT:
	case PGO_STREAM_COMMIT:
		if (t == PGO_STREAM_COMMIT) {
			if ((rc = rd_u32(&r, "xid", &m->xid)))
				return rc;
			m->has_xid = 1;
		}
		if ((rc = rd_flags0(&r)) ||
		    (rc = rd_u64(&r, "commit lsn", &m->commit.commit_lsn)) ||
		    (rc = rd_u64(&r, "end lsn", &m->commit.end_lsn)) ||
		    (rc = rd_i64(&r, "commit time", &m->commit.commit_time)))
			return rc;
		break;
	case PGO_ORIGIN:
		if ((rc = rd_u64(&r, "origin lsn", &m->origin.lsn)) ||
		    (rc = rd_str(&r, "origin name", &m->origin.name)))
			return rc;
		break;
	case PGO_RELATION:
		if ((rc = read_relation(d, &r, &m->relation)))
			return rc;
		break;
	case PGO_TYPE: {
		const char *nsp;
		if ((rc = rd_u32(&r, "type oid", &m->type_info.oid)) ||
		    (rc = rd_str(&r, "namespace", &nsp)) ||
		    (rc = rd_str(&r, "type name", &m->type_info.name)))
			return rc;
		m->type_info.nspname = nsp_name(nsp);
		break;
	}
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		if ((rc = read_change(d, &r, (char)t, m)))
			return rc;
		break;
	case PGO_TRUNCATE:
		if ((rc = read_truncate(d, &r, m)))
			return rc;
		break;
	case PGO_MESSAGE:
		if ((rc = read_message(&r, m)))
			return rc;
		break;
	case PGO_STREAM_START: {
		uint8_t first = 0;
		if ((rc = rd_u32(&r, "xid", &m->xid)) || (rc = rd_u8(&r, "first segment", &first)))
			return rc;
		if (first > 1)
			return rd_bad(&r, r.off - 1, "first segment flag", first, "0 or 1");
		m->has_xid = 1;
		m->stream_start.first_segment = first;
		break;
	}
	case PGO_STREAM_STOP:
		if (!d->in_stream)
			return errf(err, FLOE_ECORRUPT,
			            "pgoutput: %s at byte 0 without a Stream Start", what);
		break;
	case PGO_STREAM_ABORT:
		if ((rc = rd_u32(&r, "xid", &m->xid)) ||
		    (rc = rd_u32(&r, "subxid", &m->stream_abort.subxid)))
			return rc;
		m->has_xid = 1;
		/* Proto 4 appends abort LSN and time when streaming=parallel. The
		 * message has no length field: pgo_decode tells by the payload's
		 * length; pgo_decode_prefix cannot and takes the short form. */
		if (d->proto >= 4 && !used && rd_left(&r) > 0) {
			if ((rc = rd_u64(&r, "abort lsn", &m->stream_abort.abort_lsn)) ||
			    (rc = rd_i64(&r, "abort time", &m->stream_abort.abort_time)))
				return rc;
			m->stream_abort.has_abort_info = 1;
		}
		break;
	case PGO_BEGIN_PREPARE:
		if ((rc = read_prepare(&r, 0, m)))
			return rc;
		break;
	case PGO_PREPARE:
	case PGO_COMMIT_PREPARED:
	case PGO_STREAM_PREPARE:
		if ((rc = read_prepare(&r, 1, m)))
			return rc;
		break;
	case PGO_ROLLBACK_PREPARED:
		if ((rc = rd_flags0(&r)) ||
		    (rc = rd_u64(&r, "prepare end lsn", &m->rollback_prepared.prepare_end_lsn)) ||
		    (rc = rd_u64(&r, "rollback end lsn", &m->rollback_prepared.rollback_end_lsn)) ||
		    (rc = rd_i64(&r, "prepare time", &m->rollback_prepared.prepare_time)) ||
		    (rc = rd_i64(&r, "rollback time", &m->rollback_prepared.rollback_time)) ||
		    (rc = rd_u32(&r, "xid", &m->xid)) ||
		    (rc = rd_str(&r, "gid", &m->rollback_prepared.gid)))
			return rc;
		m->has_xid = 1;
		break;
	}

	if (used)
		*used = r.off;
	else if (rd_left(&r))
		return errf(err, FLOE_ECORRUPT,
		            "pgoutput: %s: %zu unexpected bytes after it at byte %zu", what,
		            rd_left(&r), r.off);

	/* Success: only now does the stream state move. */
	if (t == PGO_STREAM_START)
		d->in_stream = 1;
	else if (t == PGO_STREAM_STOP)
		d->in_stream = 0;
	return 0;
}

int pgo_decode(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out, char *err)
{
	return decode(d, p, n, out, NULL, err);
}

int pgo_decode_prefix(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out, size_t *used,
                      char *err)
{
	size_t u = 0;
	int rc = decode(d, p, n, out, &u, err);
	*used = rc ? 0 : u;
	return rc;
}

/* ---- outer framing ------------------------------------------------------------ */

int pgo_frame_decode(const uint8_t *p, size_t n, pgo_frame *out, char *err)
{
	rd r = {.p = p, .n = n, .off = 0, .what = "CopyData frame", .err = err};
	uint8_t t = 0;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = rd_u8(&r, "frame type", &t)))
		return rc;
	out->type = (char)t;
	if (t == 'w') {
		r.what = "XLogData frame";
		if ((rc = rd_u64(&r, "wal start", &out->wal_start)) ||
		    (rc = rd_u64(&r, "wal end", &out->wal_end)) ||
		    (rc = rd_i64(&r, "send time", &out->send_time)))
			return rc;
		out->data = p + r.off;
		out->len = rd_left(&r);
		return 0;
	}
	if (t == 'k') {
		uint8_t reply = 0;
		r.what = "keepalive frame";
		if ((rc = rd_u64(&r, "wal end", &out->wal_end)) ||
		    (rc = rd_i64(&r, "send time", &out->send_time)) ||
		    (rc = rd_u8(&r, "reply requested", &reply)))
			return rc;
		if (reply > 1)
			return rd_bad(&r, r.off - 1, "reply-requested flag", reply, "0 or 1");
		if (rd_left(&r))
			return errf(
			    err, FLOE_ECORRUPT,
			    "pgoutput: keepalive frame: %zu unexpected bytes after it at byte %zu",
			    rd_left(&r), r.off);
		out->reply_requested = reply;
		return 0;
	}
	return rd_bad(&r, 0, "frame type", t, "'w' (XLogData) or 'k' (keepalive)");
}

void pgo_status_encode(uint8_t out[PGO_STATUS_LEN], uint64_t write_lsn, uint64_t flush_lsn,
                       uint64_t apply_lsn, int64_t clock, int reply_requested)
{
	out[0] = 'r';
	put_be64(out + 1, write_lsn);
	put_be64(out + 9, flush_lsn);
	put_be64(out + 17, apply_lsn);
	put_be64(out + 25, (uint64_t)clock);
	out[33] = reply_requested ? 1 : 0;
}

int64_t pgo_clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGO_EPOCH_UNIX_US;
}

/* ---- relation copies ------------------------------------------------------------ */

int pgo_relation_dup(const pgo_relation *r, pgo_relation **out)
{
	*out = NULL;
	size_t nsp = strlen(r->nspname) + 1, rel = strlen(r->relname) + 1;
	size_t size = sizeof(pgo_relation) + (size_t)r->ncols * sizeof(pgo_column) + nsp + rel;
	for (uint16_t i = 0; i < r->ncols; i++)
		size += strlen(r->cols[i].name) + 1;
	/* One block: the struct, the columns (aligned after it), then strings. */
	pgo_relation *c = malloc(size);
	if (!c)
		return FLOE_ENOMEM;
	pgo_column *cols = (pgo_column *)(c + 1);
	char *s = (char *)(cols + r->ncols);
	*c = *r;
	memcpy(s, r->nspname, nsp);
	c->nspname = s;
	s += nsp;
	memcpy(s, r->relname, rel);
	c->relname = s;
	s += rel;
	for (uint16_t i = 0; i < r->ncols; i++) {
		size_t k = strlen(r->cols[i].name) + 1;
		cols[i] = r->cols[i];
		memcpy(s, r->cols[i].name, k);
		cols[i].name = s;
		s += k;
	}
	c->cols = r->ncols ? cols : NULL;
	*out = c;
	return 0;
}

void pgo_relation_free(pgo_relation *r)
{
	free(r);
}
