#include <stdio.h>
#include "greet.h"

void greet(char *buffer, size_t size, const char *name) {
    snprintf(buffer, size, "Hello, %s!", name);
}
