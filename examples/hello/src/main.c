#include <stdio.h>
#include <string.h>
#include "greet.h"

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("hello %s\n", VERSION);
        return 0;
    }
    char line[256];
    greet(line, sizeof line, argc > 1 ? argv[1] : "world");
    puts(line);
    return 0;
}
