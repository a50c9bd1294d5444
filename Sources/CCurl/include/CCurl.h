#ifndef OCCUPANT_CCURL_H
#define OCCUPANT_CCURL_H
/* libcurl, loaded on first use (issue 16): the daemon has no DT_NEEDED on libcurl, so a gateway that never makes a
 * transfer never maps it (libcurl4 pulls in about 27 libraries, 4–6 MB of RSS). occ_curl_load() dlopen()s
 * libcurl.so.4 once per process; every other function here calls libcurl through the pointers it resolved, and must
 * only be called after occ_curl_load() returned NULL. <curl/curl.h> is included for its types and constants only:
 * calling a curl_* function directly would put libcurl back among the binary's DT_NEEDED (it fails to link). */
#include <curl/curl.h>
#include <stddef.h>

/* The soname loaded: the ABI libcurl has kept since 7.16 (Debian: libcurl4, or libcurl4t64 from trixie/noble). */
#define OCC_CURL_SONAME "libcurl.so.4"

/* Loads libcurl, resolves every function below and runs curl_global_init, once per process (thread-safe). NULL on
 * success; otherwise why not, as one line (dlerror's text, "libcurl.so.4 lacks curl_easy_init", ...). Later calls
 * return the first outcome. */
const char *occ_curl_load(void);

/* Test seam: dlopen()s `soname` and resolves the same functions into a table of its own (the process's is untouched;
 * no curl_global_init), then closes it. 0 when everything resolved; otherwise -1 with the reason in `message`. */
int occ_curl_probe(const char *soname, char *message, size_t size);

CURL *occ_curl_easy_init(void);
void occ_curl_easy_reset(CURL *curl);
void occ_curl_easy_cleanup(CURL *curl);
CURLcode occ_curl_easy_perform(CURL *curl);
const char *occ_curl_easy_strerror(CURLcode code);
struct curl_slist *occ_curl_slist_append(struct curl_slist *list, const char *line);
void occ_curl_slist_free_all(struct curl_slist *list);

/* curl_easy_setopt is variadic, which Swift cannot call: one typed wrapper per argument type. */

typedef size_t (*occ_curl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*occ_curl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                          curl_off_t ulnow);

CURLcode occ_curl_setopt_long(CURL *curl, CURLoption option, long value);
CURLcode occ_curl_setopt_off(CURL *curl, CURLoption option, curl_off_t value);
/* A string (copied by curl) or NULL (the option's default, or none: CURLOPT_CAPATH). */
CURLcode occ_curl_setopt_string(CURL *curl, CURLoption option, const char *value);
/* A pointer curl keeps and hands back (user data, the error buffer, a POST body it does not copy). */
CURLcode occ_curl_setopt_pointer(CURL *curl, CURLoption option, void *value);
CURLcode occ_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value);
/* CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION. */
CURLcode occ_curl_setopt_data_callback(CURL *curl, CURLoption option, occ_curl_data_callback value);
CURLcode occ_curl_setopt_xferinfo(CURL *curl, occ_curl_xferinfo_callback value);

#endif
