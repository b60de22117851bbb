#ifndef GREET_H
#define GREET_H
#include <stddef.h>

/* Write "Hello, NAME!" into buffer, truncated to size - 1 characters. */
void greet(char *buffer, size_t size, const char *name);

#endif
