# ctest_counts LOG: reads the output of one ctest run and prints
# `PASSED FAILED SKIPPED`, one count per test from its result line
# (`N/M Test #K: name ....   Passed   0.1 sec`):
#   Passed                          passed
#   ***Skipped, ***Not Run (Disabled)  skipped (the test did not run:
#                                   it exited with its SKIP_RETURN_CODE,
#                                   or is disabled)
#   anything else                   failed (***Failed, ***Timeout,
#                                   ***Not Run for a missing program,
#                                   ***Exception ...)
# Returns 1, printing nothing, if the log has no result line or its
# failures disagree with ctest's own summary line (sourced by test.sh;
# tests/lib-runner.test.sh checks it against a real ctest).
ctest_counts() {
	awk '
		/^ *[0-9]+\/[0-9]+ +Test +#[0-9]+: / {
			lines++
			if ($0 ~ /\.\.\. *Passed +[0-9.]+ sec/) p++
			else if ($0 ~ /\*\*\*(Skipped|Not Run \(Disabled\)) +[0-9.]+ sec/) s++
			else f++
		}
		/^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+/ {
			summary = 1
			sf = $4
		}
		END {
			if (!lines || !summary || sf != f + 0) exit 1
			printf "%d %d %d\n", p, f, s
		}' "$1"
}
