#include "image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

// Larger images than this are refused: their pixels would not fit the int sizes netc reads.
static const long max_pixels = 1L << 28;

static int fail(char *error, size_t size, const char *message) {
    snprintf(error, size, "%s", message);
    return -1;
}

// The most pixels a file of `size` bytes can hold, with room to spare: deflate expands at most
// 1032:1 and a 1-bit PNG packs 8 pixels a byte; a JPEG spends at least a bit on each 8x8 block's
// DC coefficient. A larger claim is a damaged or hostile header, refused before the pixels are
// allocated (a 221-byte JPEG claimed 21760x12294 pixels: 800 MB).
static const long png_pixels_per_byte = 16384, jpeg_pixels_per_byte = 1024;

static int too_large(long width, long height, size_t size, long pixels_per_byte, char *error, size_t error_size) {
    if (width * height > max_pixels) return fail(error, error_size, "the image is implausibly large");
    if (width * height > (long)size * pixels_per_byte) {
        snprintf(error, error_size, "its header claims %ldx%ld pixels (height x width), more than %zu bytes can hold: the file is truncated or damaged",
                 height, width, size);
        return -1;
    }
    return 0;
}

static int decode_png(const unsigned char *bytes, size_t size, int channels, unsigned char **pixels, int *width,
                      int *height, int *colour, char *error, size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes, size)) return fail(error, error_size, image.message);
    if (too_large(image.width, image.height, size, png_pixels_per_byte, error, error_size)) {
        png_image_free(&image);
        return -1;
    }
    *colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    unsigned char *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (!buffer) {
        png_image_free(&image);
        return fail(error, error_size, "out of memory");
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        free(buffer);
        return fail(error, error_size, image.message);
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    return 0;
}

struct jpeg_failure {
    struct jpeg_error_mgr manager;
    jmp_buf escape;
};

static void jpeg_fail(j_common_ptr info) {
    longjmp(((struct jpeg_failure *)info->err)->escape, 1);
}

// libjpeg prints its warnings to stderr; netc reports them itself, as errors.
static void jpeg_quiet(j_common_ptr info) { (void)info; }

static int decode_jpeg(const unsigned char *bytes, size_t size, int channels, unsigned char **pixels, int *width,
                       int *height, int *colour, char *error, size_t error_size) {
    struct jpeg_decompress_struct info;
    struct jpeg_failure failure;
    unsigned char *volatile buffer = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.output_message = jpeg_quiet;
    if (setjmp(failure.escape)) {
        char message[JMSG_LENGTH_MAX];
        failure.manager.format_message((j_common_ptr)&info, message);
        jpeg_destroy_decompress(&info);
        free(buffer);
        return fail(error, error_size, message);
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, bytes, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    *colour = info.num_components > 1;
    if (too_large(info.image_width, info.image_height, size, jpeg_pixels_per_byte, error, error_size)) {
        jpeg_destroy_decompress(&info);
        return -1;
    }
    info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * channels;
    buffer = malloc(row * info.output_height);
    if (!buffer) {
        jpeg_destroy_decompress(&info);
        return fail(error, error_size, "out of memory");
    }
    while (info.output_scanline < info.output_height) {
        unsigned char *line = buffer + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    // libjpeg only warns about corrupt or missing data, filling the gaps with gray: an image
    // that is partly invented is refused, not trained on.
    if (failure.manager.num_warnings > 0) {
        char message[JMSG_LENGTH_MAX];
        failure.manager.format_message((j_common_ptr)&info, message);
        jpeg_destroy_decompress(&info);
        free(buffer);
        return fail(error, error_size, message);
    }
    *pixels = buffer;
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    jpeg_destroy_decompress(&info);
    return 0;
}

int netc_decode_image(const unsigned char *bytes, size_t size, int channels, unsigned char **pixels, int *width,
                      int *height, int *colour, char *error, size_t error_size) {
    if (channels != 1 && channels != 3) return fail(error, error_size, "images are decoded to 1 or 3 channels");
    if (size >= 8 && png_sig_cmp(bytes, 0, 8) == 0)
        return decode_png(bytes, size, channels, pixels, width, height, colour, error, error_size);
    if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        return decode_jpeg(bytes, size, channels, pixels, width, height, colour, error, error_size);
    return fail(error, error_size, "not a PNG or JPEG file (its first bytes are neither's signature)");
}

void netc_free_image(unsigned char *pixels) { free(pixels); }
