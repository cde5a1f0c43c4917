"""Side-by-side performance measurements (not part of the test pass/fail). See RESULTS.md."""
