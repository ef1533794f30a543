import MMUBench

#if canImport(Glibc)
import Glibc
#endif

exit(BenchmarkTool.main(Array(CommandLine.arguments.dropFirst())))
