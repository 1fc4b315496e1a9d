/* Echo load generator for bench/echo.py: N connections, each sends a message and waits for
 * all of it back before sending the next. Written in C so that the client costs a fraction of
 * a core and the servers, not the load generator, set the numbers (2-core machine).
 *
 *   echo_load HOST PORT CONNECTIONS SECONDS MESSAGE_SIZE   -> prints round trips per second
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SECONDS MESSAGE_SIZE\n", argv[0]);
        return 2;
    }
    int conns = atoi(argv[3]), size = atoi(argv[5]);
    double seconds = atof(argv[4]);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    char *msg = malloc(size), *buf = malloc(65536);
    memset(msg, 'x', size);
    msg[size - 1] = '\n';
    int *pending = calloc(conns, sizeof(int));
    int ep = epoll_create1(0);
    for (int i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); return 1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((unsigned long long)i << 32) | fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        if (write(fd, msg, size) != size) { perror("write"); return 1; }
    }
    struct epoll_event events[256];
    long long count = 0, start_count = 0;
    double t0 = now(), warm = t0 + 0.5, end = warm + seconds, started = 0;
    while (1) {
        double t = now();
        if (!started && t >= warm) { started = t; start_count = count; }
        if (t >= end) break;
        int n = epoll_wait(ep, events, 256, 100);
        for (int k = 0; k < n; k++) {
            int fd = (int)(events[k].data.u64 & 0xffffffff), i = (int)(events[k].data.u64 >> 32);
            ssize_t got = read(fd, buf, 65536);
            if (got <= 0) { if (got < 0 && errno == EAGAIN) continue; fprintf(stderr, "closed\n"); return 1; }
            pending[i] += got;
            while (pending[i] >= size) {
                pending[i] -= size;
                count++;
                if (write(fd, msg, size) != size) { perror("write"); return 1; }
            }
        }
    }
    printf("%.0f\n", (count - start_count) / (now() - started));
    return 0;
}
