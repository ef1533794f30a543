import MMUCommands
import MMUTrace

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The arguments as bytes: a file name that is not UTF-8 still opens (FileName).
let arguments = (1..<Int(CommandLine.argc)).map { index -> String in
    guard let argument = CommandLine.unsafeArgv[index] else { return "" }
    return FileName.decode(UnsafeRawBufferPointer(start: argument, count: strlen(argument)))
}
exit(Tool.main(arguments))
