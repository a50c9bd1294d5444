#ifndef OCCUPANT_CCURL_SHIM_H
#define OCCUPANT_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed wrapper per argument type. */

typedef size_t (*occ_curl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*occ_curl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                          curl_off_t ulnow);

static inline CURLcode occ_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_ALL); }

static inline CURLcode occ_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode occ_curl_setopt_off(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

/* A string (copied by curl) or NULL (the option's default, or none: CURLOPT_CAPATH). */
static inline CURLcode occ_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

/* A pointer curl keeps and hands back (user data, the error buffer, a POST body it does not copy). */
static inline CURLcode occ_curl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode occ_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

/* CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION. */
static inline CURLcode occ_curl_setopt_data_callback(CURL *curl, CURLoption option, occ_curl_data_callback value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode occ_curl_setopt_xferinfo(CURL *curl, occ_curl_xferinfo_callback value) {
    return curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, value);
}

static inline CURLcode occ_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

#endif
