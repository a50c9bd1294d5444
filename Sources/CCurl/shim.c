#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* libcurl's functions, as dlsym() found them. */
struct occ_curl_table {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_reset)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    CURLcode (*easy_perform)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
    void (*slist_free_all)(struct curl_slist *list);
};

/* Opens `soname` and fills `table`. The library handle, or NULL with the reason in `message`. */
static void *open_table(const char *soname, struct occ_curl_table *table, char *message, size_t size) {
    void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(message, size, "%s", reason != NULL ? reason : "dlopen failed");
        return NULL;
    }
    const struct {
        const char *name;
        void *slot;
    } symbols[] = {
        {"curl_global_init", &table->global_init},     {"curl_easy_init", &table->easy_init},
        {"curl_easy_reset", &table->easy_reset},       {"curl_easy_cleanup", &table->easy_cleanup},
        {"curl_easy_perform", &table->easy_perform},   {"curl_easy_strerror", &table->easy_strerror},
        {"curl_easy_setopt", &table->easy_setopt},
        {"curl_slist_append", &table->slist_append},   {"curl_slist_free_all", &table->slist_free_all},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *function = dlsym(library, symbols[i].name);
        if (function == NULL) {
            snprintf(message, size, "%s lacks %s", soname, symbols[i].name);
            dlclose(library);
            return NULL;
        }
        /* POSIX: a data pointer from dlsym converts to a function pointer of the same size. */
        memcpy(symbols[i].slot, &function, sizeof function);
    }
    return library;
}

static struct occ_curl_table curl;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512];
static const char *outcome;

static void load_once(void) {
    if (open_table(OCC_CURL_SONAME, &curl, failure, sizeof failure) == NULL) {
        outcome = failure;
        return;
    }
    /* The library stays open for the life of the process. */
    CURLcode code = curl.global_init(CURL_GLOBAL_ALL);
    if (code != CURLE_OK) {
        snprintf(failure, sizeof failure, "curl_global_init failed: %s", curl.easy_strerror(code));
        outcome = failure;
    }
}

const char *occ_curl_load(void) {
    pthread_once(&once, load_once);
    return outcome;
}

int occ_curl_probe(const char *soname, char *message, size_t size) {
    struct occ_curl_table table;
    void *library = open_table(soname, &table, message, size);
    if (library == NULL) return -1;
    dlclose(library);
    return 0;
}

CURL *occ_curl_easy_init(void) { return curl.easy_init(); }
void occ_curl_easy_reset(CURL *handle) { curl.easy_reset(handle); }
void occ_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
CURLcode occ_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *occ_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *occ_curl_slist_append(struct curl_slist *list, const char *line) {
    return curl.slist_append(list, line);
}
void occ_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

CURLcode occ_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_data_callback(CURL *handle, CURLoption option, occ_curl_data_callback value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode occ_curl_setopt_xferinfo(CURL *handle, occ_curl_xferinfo_callback value) {
    return curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}
