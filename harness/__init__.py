"""What the tests and the benchmarks both drive: a throwaway Jupyter server, a Kernel Gateway, and
a protocol-level page that speaks to a terminal's comm like the real front end."""
