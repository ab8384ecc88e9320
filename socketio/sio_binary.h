/* sio_binary: binary values inside jansson trees. A binary value is a distinct json_t that JSON
 * text can never produce (an object whose single key is not valid UTF-8), so handlers can tell it
 * apart from any parsed data. */
#ifndef SIO_BINARY_H
#define SIO_BINARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates a binary value holding a copy of data[0..len). Returns a new reference. */
json_t *sio_binary_new(const void *data, size_t len);

/* True when v is a binary value made by sio_binary_new (or by the decoder). */
bool sio_is_binary(const json_t *v);

/* The bytes of a binary value (borrowed, valid while v lives) and their length; NULL if v is not
 * binary. */
const uint8_t *sio_binary_data(const json_t *v, size_t *len);

/* True when v holds a binary value at any depth. */
bool sio_has_binary(const json_t *v);

#endif
