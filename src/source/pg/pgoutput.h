/*
 * pgoutput — a decoder for PostgreSQL's logical replication stream: the
 * CopyData frames of START_REPLICATION ('w' XLogData, 'k' keepalive), the
 * pgoutput plugin's messages inside XLogData payloads, and the encoder of the
 * standby status update ('r') a client sends back. Byte formats only: it knows
 * nothing about floe tables, replication connections or type conversion.
 *
 * Protocol versions (the `proto_version` option of START_REPLICATION):
 *   1  Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate,
 *      Message (PostgreSQL 10+; Truncate 11+, Message 14+ with messages=true)
 *   2  + streamed in-progress transactions: Stream Start/Stop/Commit/Abort;
 *      between Stream Start and Stop, Relation/Type/Insert/Update/Delete/
 *      Truncate/Message carry the xid after the type byte (PostgreSQL 14+)
 *   3  + two-phase commit: Begin Prepare, Prepare, Commit Prepared, Rollback
 *      Prepared, Stream Prepare (PostgreSQL 15, its highest version)
 *   4  + Stream Abort may end with abort LSN and time when streaming=parallel
 *      (PostgreSQL 16+); accepted so a newer server needs no decoder change
 * A message a version does not have is FLOE_ECORRUPT; the decoder therefore
 * must be created with the version the client asked for.
 *
 * Layout rules (PostgreSQL's proto.c and "Logical Replication Message
 * Formats"): integers big-endian, Int16 column counts, Int32 oids/xids/
 * lengths, Int64 LSNs and timestamps (microseconds since 2000-01-01 UTC);
 * String = bytes up to a NUL. The exact layout of each message is at the top
 * of pgoutput.c.
 *
 * Validity: a message is decoded only if every field lies inside the given
 * bytes, every tag byte is one the protocol defines, flags are the defined
 * ones, and nothing follows the last field (pgo_decode; pgo_decode_prefix
 * allows a tail and reports how much it used). Anything else is
 * FLOE_ECORRUPT with "... at byte N" (N relative to the bytes passed in) in
 * err; the decoder then has not changed state. It never reads outside the
 * bytes and never crashes on any input.
 *
 * Ownership and lifetime: decoding copies nothing. Strings, column values and
 * message contents in a pgo_msg point into the caller's message bytes; the
 * arrays (tuple columns, relation columns, truncated relation ids) live in
 * the decoder's scratch, which is reused by the next decode. So a decoded
 * message is valid until the next pgo_decode* call on the same decoder or
 * until the caller frees or reuses the message bytes, whichever comes first
 * — the lifetime of one replication message, like a memory context reset per
 * message. Keep anything longer by copying it (pgo_relation_dup for the
 * relation cache).
 *
 * Errors: 0 or a negative FLOE_* code (base/err.h); err (ERR_LEN bytes, may
 * be NULL) gets one line. FLOE_ECORRUPT for bad bytes, FLOE_ENOMEM, and
 * FLOE_EINVAL for a bad argument (unsupported protocol version).
 *
 * Threads: a decoder belongs to one thread (one replication connection); the
 * frame functions and the encoder are pure.
 */
#ifndef FLOE_PGOUTPUT_H
#define FLOE_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

#define PGO_PROTO_MIN 1
#define PGO_PROTO_MAX 4

/* PostgreSQL timestamps count microseconds from 2000-01-01 00:00:00 UTC;
 * this is that instant in microseconds since the Unix epoch. */
#define PGO_EPOCH_UNIX_US INT64_C(946684800000000)

/* ---- outer framing: CopyData of the replication stream ------------------ */

/* CopyData payload sizes (the type byte included). */
#define PGO_XLOGDATA_HDR  25 /* 'w' + walStart + walEnd + sendTime */
#define PGO_KEEPALIVE_LEN 18 /* 'k' + walEnd + sendTime + replyRequested */
#define PGO_STATUS_LEN    34 /* 'r' + write + flush + apply + clock + reply */

typedef struct pgo_frame {
	char type;           /* 'w' XLogData or 'k' primary keepalive */
	uint64_t wal_start;  /* 'w': LSN where the payload starts */
	uint64_t wal_end;    /* 'w' and 'k': the server's current end of WAL */
	int64_t send_time;   /* 'w' and 'k': server clock, PostgreSQL microseconds */
	int reply_requested; /* 'k': 1 if the server wants a status update now */
	const uint8_t *data; /* 'w': the pgoutput message, inside the frame bytes */
	size_t len;          /* 'w': its length (may be 0) */
} pgo_frame;

/* Decodes one CopyData payload from the replication stream (p[0] is 'w' or
 * 'k'). out->data points into p. FLOE_ECORRUPT for any other type, a short
 * frame, a keepalive with trailing bytes or a reply flag other than 0/1. */
int pgo_frame_decode(const uint8_t *p, size_t n, pgo_frame *out, char *err);

/* Writes the 34-byte standby status update ('r') into out: the LSNs the
 * client has written, flushed (durably applied: what the slot may forget) and
 * applied, its clock (PostgreSQL microseconds, see pgo_clock_now) and whether
 * it asks the server to reply at once. The caller sends it as CopyData. */
void pgo_status_encode(uint8_t out[PGO_STATUS_LEN], uint64_t write_lsn, uint64_t flush_lsn,
                       uint64_t apply_lsn, int64_t clock, int reply_requested);

/* Now, in PostgreSQL microseconds (CLOCK_REALTIME). */
int64_t pgo_clock_now(void);

/* ---- pgoutput messages --------------------------------------------------- */

enum pgo_type {
	PGO_BEGIN = 'B',
	PGO_COMMIT = 'C',
	PGO_ORIGIN = 'O',
	PGO_RELATION = 'R',
	PGO_TYPE = 'Y',
	PGO_INSERT = 'I',
	PGO_UPDATE = 'U',
	PGO_DELETE = 'D',
	PGO_TRUNCATE = 'T',
	PGO_MESSAGE = 'M',
	PGO_STREAM_START = 'S',      /* proto >= 2 */
	PGO_STREAM_STOP = 'E',       /* proto >= 2 */
	PGO_STREAM_COMMIT = 'c',     /* proto >= 2 */
	PGO_STREAM_ABORT = 'A',      /* proto >= 2 */
	PGO_BEGIN_PREPARE = 'b',     /* proto >= 3 */
	PGO_PREPARE = 'P',           /* proto >= 3 */
	PGO_COMMIT_PREPARED = 'K',   /* proto >= 3 */
	PGO_ROLLBACK_PREPARED = 'r', /* proto >= 3 */
	PGO_STREAM_PREPARE = 'p',    /* proto >= 3 */
};

/* Replica identity of a relation (pg_class.relreplident). */
enum {
	PGO_IDENT_DEFAULT = 'd', /* primary key (or nothing if none) */
	PGO_IDENT_NOTHING = 'n',
	PGO_IDENT_FULL = 'f',  /* the whole old row */
	PGO_IDENT_INDEX = 'i', /* a chosen unique index */
};

/* One column value of a tuple. */
enum {
	PGO_VAL_NULL = 'n',
	PGO_VAL_UNCHANGED = 'u', /* an unchanged TOASTed value: not sent */
	PGO_VAL_TEXT = 't',      /* the type's text output, NOT NUL-terminated */
	PGO_VAL_BINARY = 'b',    /* the type's send() output (binary = true) */
};
typedef struct pgo_value {
	char kind;           /* PGO_VAL_* */
	uint32_t len;        /* 't'/'b': byte length; 0 otherwise */
	const uint8_t *data; /* 't'/'b': inside the message bytes; NULL otherwise */
} pgo_value;

/* A tuple: every live (not dropped, not generated) column of the relation in
 * attribute order, as in the latest Relation message for it; the decoder does
 * not check ncols against the relation (the caller's relation cache does). */
typedef struct pgo_tuple {
	uint16_t ncols;
	const pgo_value *cols; /* decoder scratch */
} pgo_tuple;

#define PGO_COL_KEY 1 /* pgo_column.flags: part of the replica identity */
typedef struct pgo_column {
	uint8_t flags;    /* PGO_COL_KEY or 0 */
	const char *name; /* NUL-terminated, inside the message bytes */
	uint32_t type_oid;
	int32_t typmod; /* -1 when the type has none */
} pgo_column;

typedef struct pgo_relation {
	uint32_t oid;        /* the relation id that change messages name */
	const char *nspname; /* schema; "pg_catalog" when sent empty */
	const char *relname;
	char replident; /* PGO_IDENT_* */
	uint16_t ncols;
	const pgo_column *cols;
} pgo_relation;

typedef struct pgo_msg {
	char type; /* enum pgo_type */
	/* Xid: of the transaction for Begin, the stream messages and the two-phase
	 * messages; for Relation, Type, changes, Truncate and Message only when
	 * they are part of a streamed transaction (has_xid = 1). */
	int has_xid;
	uint32_t xid;
	union {
		struct {
			uint64_t final_lsn; /* never 0 */
			int64_t commit_time;
		} begin;
		struct { /* Commit and Stream Commit */
			uint64_t commit_lsn;
			uint64_t end_lsn;
			int64_t commit_time;
		} commit;
		struct {
			uint64_t lsn;     /* of the commit on the origin server */
			const char *name; /* NUL-terminated */
		} origin;
		pgo_relation relation;
		struct {
			uint32_t oid;
			const char *nspname; /* "pg_catalog" when sent empty */
			const char *name;
		} type_info; /* 'Y' */
		struct {     /* Insert, Update, Delete */
			uint32_t relid;
			/* Update/Delete: 'K' (old key columns, others null), 'O' (whole
			 * old row, REPLICA IDENTITY FULL), or 0 (Update without an old
			 * tuple: the key did not change). Insert: 0. */
			char old_kind;
			pgo_tuple old_tuple; /* ncols 0 when old_kind is 0 */
			pgo_tuple new_tuple; /* ncols 0 for Delete */
		} change;
		struct {
			int cascade;
			int restart_identity;
			uint32_t nrelids;
			const uint32_t *relids; /* decoder scratch */
		} truncate;
		struct {
			int transactional;
			uint64_t lsn;
			const char *prefix;     /* NUL-terminated */
			const uint8_t *content; /* inside the message bytes */
			uint32_t len;
		} message;
		struct {
			int first_segment; /* 1 for the first block of this xid */
		} stream_start;
		struct {
			uint32_t subxid;    /* == xid when the whole transaction aborts */
			int has_abort_info; /* proto 4 with streaming=parallel */
			uint64_t abort_lsn;
			int64_t abort_time;
		} stream_abort;
		struct {              /* Begin Prepare, Prepare, Commit Prepared, Stream Prepare */
			uint64_t lsn; /* prepare LSN; commit LSN for Commit Prepared */
			uint64_t end_lsn; /* end of the prepared or committed xact */
			int64_t time;     /* prepare time; commit time for Commit Prepared */
			const char *gid;  /* NUL-terminated */
		} prepare;
		struct {
			uint64_t prepare_end_lsn;
			uint64_t rollback_end_lsn;
			int64_t prepare_time;
			int64_t rollback_time;
			const char *gid;
		} rollback_prepared;
	};
} pgo_msg;

typedef struct pgo_decoder pgo_decoder;

/* Creates a decoder for protocol version proto_version (PGO_PROTO_MIN..MAX)
 * into *out; free with pgo_decoder_free. FLOE_EINVAL, FLOE_ENOMEM. */
int pgo_decoder_new(int proto_version, pgo_decoder **out);
/* Frees d and its scratch; pgo_decoder_free(NULL) is a no-op. */
void pgo_decoder_free(pgo_decoder *d);
/* 1 between a Stream Start and its Stream Stop (changes then carry xids). */
int pgo_decoder_in_stream(const pgo_decoder *d);

/* Decodes exactly one pgoutput message, all n bytes of it (an XLogData
 * payload), into *out; see the lifetime rule above. FLOE_ECORRUPT (err says
 * what and at which byte), FLOE_ENOMEM (scratch). On failure *out is
 * unspecified and the decoder state is unchanged. */
int pgo_decode(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out, char *err);
/* Like pgo_decode but the message may be followed by other bytes: *used gets
 * its length (for streams of concatenated messages, e.g. pg_recvlogical's
 * output file; 0 on failure). Every message is self-delimiting except a
 * proto-4 Stream Abort, whose optional tail only the payload length can tell:
 * here it is always taken as the short form. */
int pgo_decode_prefix(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out, size_t *used,
                      char *err);

/* "Begin", "Insert", ...; "unknown" for anything else. */
const char *pgo_type_name(int type);

/* Deep-copies a decoded relation into one malloc'd block (strings and columns
 * included) that outlives the message; free with pgo_relation_free.
 * FLOE_ENOMEM. */
int pgo_relation_dup(const pgo_relation *r, pgo_relation **out);
/* pgo_relation_free(NULL) is a no-op. Only for pgo_relation_dup's result. */
void pgo_relation_free(pgo_relation *r);

#endif
