/*
 * A tiny test runner (after libuv's test/task.h): each suite is one
 * executable with TEST() functions listed in a TESTS table.  It prints
 * `ok N - name` or `not ok N - name` per test, the failing check's file,
 * line and expression, and one closing line `N passed, N failed`.  Exit
 * status is non-zero if anything failed.  `suite NAME` runs one test.
 *
 *     TEST(codec_time) { CHECK_EQ(1, 1); }
 *     TEST_MAIN(T(codec_time))
 */
#ifndef MIBAND_TEST_RUNNER_H
#define MIBAND_TEST_RUNNER_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

extern int test__failed;
extern const char *test__name;

#define TEST(name) static void test_##name(void)
#define T(name) { #name, test_##name }

#define TEST_FAIL_AT(file, line, ...)                                          \
	do {                                                                   \
		fprintf(stderr, "#   %s:%d: ", file, line);                      \
		fprintf(stderr, __VA_ARGS__);                                  \
		fprintf(stderr, "\n");                                         \
		test__failed = 1;                                              \
	} while (0)

/* Fails the test and returns from the TEST function. */
#define CHECK(expr)                                                            \
	do {                                                                   \
		if (!(expr)) {                                                 \
			TEST_FAIL_AT(__FILE__, __LINE__, "CHECK(%s)", #expr);    \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);  \
		if (check_a_ != check_b_) {                                    \
			TEST_FAIL_AT(__FILE__, __LINE__,                        \
				     "%s == %s: %lld != %lld", #a, #b,          \
				     check_a_, check_b_);                      \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {    \
			TEST_FAIL_AT(__FILE__, __LINE__,                        \
				     "%s == %s: \"%s\" != \"%s\"", #a, #b,      \
				     check_a_ ? check_a_ : "(null)",           \
				     check_b_ ? check_b_ : "(null)");          \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_MEM(a, b, n)                                                     \
	do {                                                                   \
		if (memcmp((a), (b), (n))) {                                   \
			TEST_FAIL_AT(__FILE__, __LINE__,                        \
				     "memcmp(%s, %s, %s) != 0", #a, #b, #n);    \
			return;                                                \
		}                                                              \
	} while (0)

/* Parses hex ("10 03 01", "100301", "10:03:01") into buf; returns length
 * or -1.  Defined by TEST_MAIN. */
int test_hex(const char *hex, uint8_t *buf, size_t cap);

#define TEST_MAIN(...)                                                         \
	int test__failed;                                                      \
	const char *test__name;                                                \
	int test_hex(const char *hex, uint8_t *buf, size_t cap)                \
	{                                                                      \
		size_t n = 0;                                                  \
		int hi = -1;                                                   \
		for (; *hex; hex++) {                                          \
			int v;                                                 \
			char c = *hex;                                         \
			if (c >= '0' && c <= '9')                              \
				v = c - '0';                                   \
			else if (c >= 'a' && c <= 'f')                         \
				v = c - 'a' + 10;                              \
			else if (c >= 'A' && c <= 'F')                         \
				v = c - 'A' + 10;                              \
			else if (c == ' ' || c == ':' || c == '\n')            \
				continue;                                      \
			else                                                   \
				return -1;                                     \
			if (hi < 0) {                                          \
				hi = v;                                        \
			} else {                                               \
				if (n >= cap)                                  \
					return -1;                             \
				buf[n++] = (uint8_t)(hi << 4 | v);             \
				hi = -1;                                       \
			}                                                      \
		}                                                              \
		return hi < 0 ? (int)n : -1;                                   \
	}                                                                      \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		static const struct test_case cases[] = { __VA_ARGS__ };       \
		size_t i, n = sizeof(cases) / sizeof(cases[0]);                \
		int passed = 0, failed = 0, idx = 0;                           \
		setvbuf(stdout, NULL, _IONBF, 0);                              \
		for (i = 0; i < n; i++) {                                      \
			if (argc > 1 && strcmp(argv[1], cases[i].name))        \
				continue;                                      \
			test__failed = 0;                                      \
			test__name = cases[i].name;                            \
			cases[i].fn();                                         \
			idx++;                                                 \
			if (test__failed) {                                    \
				failed++;                                      \
				printf("not ok %d - %s\n", idx, cases[i].name); \
			} else {                                               \
				passed++;                                      \
				printf("ok %d - %s\n", idx, cases[i].name);    \
			}                                                      \
		}                                                              \
		printf("%d passed, %d failed\n", passed, failed);              \
		return failed || !idx ? 1 : 0;                                 \
	}

#endif
