/* vec: reader for the escaped-bytes vector files of tests/vectors (format in each file's header). */
#ifndef SIO_TEST_VEC_H
#define SIO_TEST_VEC_H

#include "util_buf.h"

#include <stddef.h>
#include <stdint.h>

/** One expected packet of a valid case. */
typedef struct vec_packet {
    char kind;     /**< '0'..'6' for a text packet, 'b' for a binary message */
    util_buf data; /**< decoded bytes; owned by the packet */
} vec_packet;

/** One case: the input bytes and, for valid cases, the packets they must decode to. */
typedef struct vec_case {
    int line;           /**< line of the case in its file */
    char kind[8];       /**< first field when the file has one ("text"/"binary" in ws files) */
    util_buf input;     /**< input bytes; owned by the case */
    vec_packet *expect; /**< expected packets (NULL for invalid cases); owned by the case */
    size_t nexpect;     /**< number of expected packets */
} vec_case;

/** A loaded vector file. */
typedef struct vec_file {
    vec_case *cases; /**< owned by the file */
    size_t ncases;
} vec_file;

/* Decodes the escaped field s[0..n) and appends its bytes to out. Returns 0, or -1 on a malformed
 * escape. */
int vec_unescape(util_buf *out, const char *s, size_t n);

/* Loads path. with_kind: every case starts with a kind field; with_expect: cases list expected
 * packets after the input (otherwise the rest of the line is a free comment). Returns 0 and fills
 * *f (free with vec_file_free), or -1 after printing the offending line to stderr. */
int vec_load(const char *path, int with_kind, int with_expect, vec_file *f);

/* Frees what vec_load filled. Accepts a zeroed file. */
void vec_file_free(vec_file *f);

#endif
