/* tools/bench gateway's floor: only the MQTT part of a gateway cycle, in C on libmosquitto. Every 100 ms (absolute
 * deadlines) it publishes one decision-sized QoS 1 retained message, as the gateway does each cycle at 10 Hz, and
 * nothing else: no sensors, no decision, no JSON. What a daemon spends above this is its own.
 *
 *   mqtt_floor PORT CYCLES network-thread   the daemon's shape: a network thread polls the socket and an eventfd,
 *                                           a publish wakes it through the eventfd, the PUBACK wakes it again
 *   mqtt_floor PORT CYCLES one-thread       one thread: publish and write at once, sleep to the deadline, then read
 *                                           whatever arrived (the PUBACK) — one wake-up per cycle
 *
 * Prints one JSON line in the shape of `occupant-gateway --stats`: cycles, publishes, cpu_seconds (getrusage over the
 * cycles), max_rss_kb, cycle_median_us and cycle_p99_us (deadline to publish handed over). Build: cc -O2 mqtt_floor.c
 * -lmosquitto -lpthread. */
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char payload[] =
    "{\"roomOccupancy\":true,\"probability\":1,\"decidedBy\":\"rule:sound>10\",\"inputs\":{\"sound\":42},"
    "\"health\":{\"hvac\":\"ok\",\"sound\":\"ok\",\"temperature\":\"ok\"},\"at\":\"2026-01-05T08:30:00.000Z\"}";

static struct mosquitto *client;
static int wake_fd = -1;
static volatile int acknowledged;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double deadline) {
    struct timespec t = {(time_t)deadline, (long)((deadline - (double)(time_t)deadline) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {}
}

static void on_publish(struct mosquitto *m, void *user, int mid) {
    (void)m, (void)user, (void)mid;
    acknowledged++;
}

static void *network_thread(void *unused) {
    (void)unused;
    for (;;) {
        struct pollfd fds[2] = {{wake_fd, POLLIN, 0},
                                {mosquitto_socket(client), POLLIN | (mosquitto_want_write(client) ? POLLOUT : 0), 0}};
        if (poll(fds, 2, 1000) > 0) {
            if (fds[0].revents) {
                unsigned long long value;
                if (read(wake_fd, &value, sizeof value) < 0) {}
            }
            if (fds[1].revents & POLLIN) mosquitto_loop_read(client, 1);
        }
        if (mosquitto_want_write(client)) mosquitto_loop_write(client, 1);
        mosquitto_loop_misc(client);
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: mqtt_floor PORT CYCLES network-thread|one-thread\n");
        return 2;
    }
    int port = atoi(argv[1]), cycles = atoi(argv[2]);
    int threaded = strcmp(argv[3], "network-thread") == 0;
    if (!threaded && strcmp(argv[3], "one-thread") != 0) {
        fprintf(stderr, "mqtt_floor: unknown mode '%s' (network-thread or one-thread)\n", argv[3]);
        return 2;
    }
    mosquitto_lib_init();
    char id[64];
    snprintf(id, sizeof id, "mqtt-floor-%d", (int)getpid());
    client = mosquitto_new(id, true, NULL);
    if (client) mosquitto_publish_callback_set(client, on_publish);
    if (!client || mosquitto_connect(client, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_floor: cannot connect to 127.0.0.1:%d\n", port);
        return 1;
    }
    for (int i = 0; i < 10; i++) mosquitto_loop(client, 20, 1); /* the CONNACK */
    if (threaded) {
        mosquitto_threaded_set(client, true);
        wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        pthread_t thread;
        pthread_create(&thread, NULL, network_thread, NULL);
    }
    double *latency = calloc((size_t)cycles, sizeof *latency);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    double deadline = now();
    for (int i = 0; i < cycles; i++) {
        deadline += 0.1;
        sleep_until(deadline);
        if (!threaded) {
            mosquitto_loop_read(client, 10); /* the last cycle's PUBACK */
            mosquitto_loop_misc(client);
        }
        double start = now();
        mosquitto_publish(client, NULL, "occupant/floor/occupancy", (int)strlen(payload), payload, 1, true);
        if (threaded) {
            unsigned long long one = 1;
            if (write(wake_fd, &one, sizeof one) < 0) {}
        } else if (mosquitto_want_write(client)) {
            mosquitto_loop_write(client, 1);
        }
        latency[i] = (now() - start) * 1e6;
    }
    getrusage(RUSAGE_SELF, &after);
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
                 (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                 (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                 (double)(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    qsort(latency, (size_t)cycles, sizeof *latency, compare);
    printf("{\"mode\":\"%s\",\"cycles\":%d,\"publishes\":%d,\"acknowledged\":%d,\"cpu_seconds\":%.6f,\"max_rss_kb\":%ld,"
           "\"cycle_median_us\":%.1f,\"cycle_p99_us\":%.1f}\n",
           argv[3], cycles, cycles, acknowledged, cpu, after.ru_maxrss, latency[cycles / 2], latency[cycles * 99 / 100]);
    return 0;
}
