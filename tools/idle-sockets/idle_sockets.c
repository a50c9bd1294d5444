// idle_sockets PORT COUNT SECONDS: opens COUNT TCP connections to 127.0.0.1:PORT, sends nothing, and reports on
// stdout how many the server has closed ("opened N", then "eof E closed C" whenever that changes). Exits when all are
// closed or after SECONDS. The connection-exhaustion test runs it as a child process, so that its thousands of
// descriptors do not push other tests' descriptors past FD_SETSIZE (libmosquitto uses select).
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: idle_sockets PORT COUNT SECONDS\n"); return 2; }
    int port = atoi(argv[1]), count = atoi(argv[2]), seconds = atoi(argv[3]);
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)count + 64) {
        limit.rlim_cur = (rlim_t)count + 64 <= limit.rlim_max ? (rlim_t)count + 64 : limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    struct pollfd *fds = calloc((size_t)count, sizeof *fds);
    char *done = calloc((size_t)count, 1);
    if (!fds || !done) return 1;
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = inet_addr("127.0.0.1");
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) { perror("socket"); return 1; }
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
            perror("connect");
            return 1;
        }
        fds[i].fd = fd;
        fds[i].events = POLLIN;
    }
    printf("opened %d\n", count);
    fflush(stdout);
    int eof = 0, closed = 0;
    time_t end = time(NULL) + seconds;
    while (closed < count && time(NULL) < end) {
        if (poll(fds, (nfds_t)count, 200) <= 0) continue;
        int changed = 0;
        for (int i = 0; i < count; i++) {
            if (done[i] || !fds[i].revents) continue;
            char byte;
            ssize_t n = recv(fds[i].fd, &byte, 1, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                if (n == 0) eof++;
                closed++;
                done[i] = 1;
                fds[i].fd = -fds[i].fd - 1;  // poll ignores negative descriptors
                changed = 1;
            }
        }
        if (changed) {
            printf("eof %d closed %d\n", eof, closed);
            fflush(stdout);
        }
    }
    return 0;
}
