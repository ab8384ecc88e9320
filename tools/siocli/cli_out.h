/* cli_out: siocli's output: aligned tables with a header line, JSON documents, and the small
 * formatters they share (durations, JSON values with binary shown by size). Pure. */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include "util_buf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_table cli_table;

/* Creates a table with ncols columns named by headers (copied). Caller owns; free with
 * cli_table_free. */
cli_table *cli_table_new(size_t ncols, const char *const *headers);

/* Adds a row of ncols cells (copied; NULL is shown as "-"). Control characters are shown as '?',
 * so that a hostile room name cannot break the layout. */
void cli_table_add(cli_table *t, const char *const *cells);

/* Number of rows added. */
size_t cli_table_rows(const cli_table *t);

/* Appends the table to out: the header line, then one line per row; every column but the last is
 * padded to its widest cell (UTF-8 characters counted once) and columns are separated by two
 * spaces; the last column is not padded. */
void cli_table_render(const cli_table *t, util_buf *out);

/* Writes the rendered table to f. */
void cli_table_print(const cli_table *t, FILE *f);

/* Frees t. Accepts NULL. */
void cli_table_free(cli_table *t);

/* Writes ms as a short duration into out (size n): "850ms", "12.3s", "5m03s", "2h05m", "3d04h";
 * negative values as "-". Returns out. */
char *cli_fmt_duration(char *out, size_t n, int64_t ms);

/* A copy of v fit for printing as JSON: binary values (sio_binary) become {"_binary": SIZE}.
 * Returns a new reference. v is borrowed; NULL gives JSON null. */
json_t *cli_json_display(const json_t *v);

/* v (borrowed) as compact JSON text for a table cell, binary shown as {"_binary":SIZE}. Caller
 * frees with util_free. */
char *cli_json_text(const json_t *v);

/* Prints doc (borrowed) to stdout as one JSON document (indented, newline-terminated), binary
 * shown by size, and flushes. */
void cli_print_json(const json_t *doc);

/* Prints doc (borrowed) to stdout as one compact JSON line and flushes (monitor). */
void cli_print_json_line(const json_t *doc);

#endif
