/*
 * A tiny test runner (after libuv's test/task.h): each suite is one
 * executable with TEST() functions listed in a TEST_MAIN table.  It prints
 * one TAP line per test, `ok N - name`, `not ok N - name` or
 * `ok N - name # SKIP reason`, the failing check's file, line and
 * expression, and one closing line `N passed, N failed, N skipped`.
 * `suite NAME` runs one test.
 *
 * Exit status: 1 if a test failed or none ran, else 77 if one was skipped
 * (ctest's SKIP_RETURN_CODE: the suite shows as skipped, not passed), else
 * 0.
 *
 *     TEST(codec_time) { CHECK_EQ(1, 1); }
 *     TEST(needs_bus) { if (!have_bus()) SKIP("no dbus-daemon"); ... }
 *     TEST_MAIN(T(codec_time), T(needs_bus))
 */
#ifndef MIBAND_TEST_RUNNER_H
#define MIBAND_TEST_RUNNER_H

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit status of a suite that skipped something and failed nothing. */
#define TEST_EXIT_SKIP 77

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* The running test: set to 1 by a failed check; its name. */
extern int test__failed;
extern const char *test__name;

#define TEST(name) static void test_##name(void)
#define T(name) { #name, test_##name }

/* Prints "#   file:line: message" and marks the running test failed. */
void test_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define TEST_FAIL_AT(file, line, ...) test_fail_at(file, line, __VA_ARGS__)

/* Marks the running test skipped with a reason (shown after `# SKIP`);
 * a test that also failed a check counts as failed. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Skips the running test and returns from the TEST function. */
#define SKIP(...)                                                              \
	do {                                                                   \
		test_skip(__VA_ARGS__);                                        \
		return;                                                        \
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
 * or -1. */
int test_hex(const char *hex, uint8_t *buf, size_t cap);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t test_mono_ms(void);

/* Runs the cases (only the one named argv[1], if given) and returns the
 * suite's exit status. */
int test_main(const struct test_case *cases, size_t n, int argc,
	      char **argv);

#define TEST_MAIN(...)                                                         \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		static const struct test_case cases[] = { __VA_ARGS__ };       \
		return test_main(cases, sizeof(cases) / sizeof(cases[0]),      \
				 argc, argv);                                  \
	}

#endif
