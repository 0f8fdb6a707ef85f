/*
 * mirror (CLI) — `floe mirror SRC_URI SCHEMA.TABLE [options]`: asks a running
 * floe server to mirror a PostgreSQL table, through the same REST route a
 * program would use (POST /tables/{name}/from_postgres), and prints the
 * server's answer. Exit status 0 on 201, 1 on an error answer, 2 on bad
 * arguments or when the server cannot be reached.
 */
#ifndef FLOE_CLI_MIRROR_H
#define FLOE_CLI_MIRROR_H

/* argv[0] is "mirror". */
int cli_mirror(int argc, char **argv);

#endif
