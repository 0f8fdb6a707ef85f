/*
 * crashpoint — named points where a test build can kill the process, to
 * prove that a crash between two durable steps loses or duplicates nothing.
 *
 * ice_crash_point(name) calls abort() when the environment variable
 * FLOE_CRASH_POINT equals `name` (read once per process), and does nothing
 * otherwise. Compile with -DFLOE_NO_CRASH_POINTS to remove every call.
 *
 * Points of the Iceberg commit protocol (table.h), in order:
 *   ice_after_manifests      new manifests written and fsynced (commit only)
 *   ice_after_manifest_list  manifest list written, metadata/ fsynced (commit only)
 *   ice_after_metadata_tmp   v<N+1> written under its temp name and fsynced
 *   ice_after_publish        v<N+1> linked to its final name, metadata/ fsynced
 *   ice_after_hint           version-hint.text rewritten
 * The last three fire for every new metadata version: create (v1), commit
 * and set_properties. A crash before ice_after_publish completes leaves v<N>
 * current; from ice_after_publish on, v<N+1> is current.
 * Points of the table writer (src/table/table.c):
 *   table_after_data_file    Parquet data file written and fsynced, not committed
 *   table_after_commit       snapshot committed, WAL not yet truncated
 * Thread-safe.
 */
#ifndef FLOE_ICE_CRASHPOINT_H
#define FLOE_ICE_CRASHPOINT_H

#ifdef FLOE_NO_CRASH_POINTS
#define ice_crash_point(name) ((void)(name))
#else
void ice_crash_point(const char *name);
#endif

#endif
