/* STAND-IN for the Edge TPU runtime library (libedgetpu.so.1), for tests only.
 *
 * It exports the entry points LiteRT's load_delegate looks up and behaves as
 * STAND_IN_RUNTIME says: "no_device" (the default) returns no delegate, as the real library
 * does when no Edge TPU is plugged in; "crash" kills its own process with SIGSEGV, as a
 * libedgetpu built against another TFLite version does inside a newer interpreter.
 */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *edgetpu_version(void) { return "STAND-IN Edge TPU runtime (tests only)"; }

void *tflite_plugin_create_delegate(char **keys, char **values, size_t count,
                                    void (*report_error)(const char *)) {
  const char *mode = getenv("STAND_IN_RUNTIME");
  (void)keys; (void)values; (void)count;
  if (mode != NULL && strcmp(mode, "crash") == 0) raise(SIGSEGV);
  if (report_error != NULL) report_error("");
  return NULL;
}

void tflite_plugin_destroy_delegate(void *delegate) { (void)delegate; }
