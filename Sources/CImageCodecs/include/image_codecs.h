#ifndef NETC_IMAGE_CODECS_H
#define NETC_IMAGE_CODECS_H

#include <stddef.h>

/// Decodes a PNG or JPEG file's `size` bytes (told apart by their first bytes) into 8-bit pixels,
/// row by row, `channels` per pixel: 1 (gray) or 3 (RGB), converting as needed (libpng's
/// simplified API, libjpeg-turbo's colour conversion). On success returns 0 and sets `*pixels`
/// (free it with netc_free_image), `*width`, `*height` and `*colour` (whether the file holds
/// colour, whatever `channels` asked for); on failure returns -1 and writes what went wrong to
/// `error`.
int netc_decode_image(const unsigned char *bytes, size_t size, int channels, unsigned char **pixels, int *width,
                      int *height, int *colour, char *error, size_t error_size);

void netc_free_image(unsigned char *pixels);

#endif
