/*
 * The test runner of runner.h: runs a table of TEST functions one after
 * the other in one process and reports each as a TAP line.  A test fails
 * through test_fail_at() (the CHECK macros), is skipped through
 * test_skip() (SKIP), and passes otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <stdarg.h>
#include <time.h>

int test__failed;
const char *test__name;
static char skip_reason[256];
static int skipped_now;

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	test__failed = 1;
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
	skipped_now = 1;
}

int test_hex(const char *hex, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		char c = *hex;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else if (c == ' ' || c == ':' || c == '\n')
			continue;
		else
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			if (n >= cap)
				return -1;
			buf[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? (int)n : -1;
}

uint64_t test_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int test_main(const struct test_case *cases, size_t n, int argc, char **argv)
{
	size_t i;
	int passed = 0, failed = 0, skipped = 0, idx = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		test__failed = 0;
		test__name = cases[i].name;
		skipped_now = 0;
		skip_reason[0] = '\0';
		cases[i].fn();
		idx++;
		if (test__failed) {
			failed++;
			printf("not ok %d - %s\n", idx, cases[i].name);
		} else if (skipped_now) {
			skipped++;
			printf("ok %d - %s # SKIP %s\n", idx, cases[i].name,
			       skip_reason);
		} else {
			passed++;
			printf("ok %d - %s\n", idx, cases[i].name);
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	if (failed || !idx)
		return 1;
	return skipped ? TEST_EXIT_SKIP : 0;
}
