import ArgumentParser
import Foundation
import Kernels

/// Entry point: make sure OpenBLAS runs kernels that fit the CPU, then parse the command line.
@main
enum CocoonMain {
    static func main() {
        reexecIfBetterKernelsExist()
        Cocoon.main()
    }

    /// Re-executes this process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to weak
    /// kernels on a capable CPU (`OpenBLASCore.better`). Does nothing when the variable is already
    /// set (by the user or an earlier re-exec) or `COCOON_KEEP_OPENBLAS_CORE` is set.
    private static func reexecIfBetterKernelsExist() {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv("COCOON_KEEP_OPENBLAS_CORE") == nil,
              let core = OpenBLASCore.better(than: OpenBLASCore.current, cpuFlags: OpenBLASCore.cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // exec failed: carry on with the kernels we have
        unsetenv("OPENBLAS_CORETYPE")
    }
}

/// The `cocoon` command line: index CLIP image features once, tune prompts many times.
struct Cocoon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cocoon",
        abstract: "CoOp / CoCoOp prompt learning on an ahead-of-time CLIP feature cache.",
        version: "0.1.0",
        subcommands: [Inspect.self, Embed.self, Synth.self, Index.self, Store.self, Query.self, Tune.self, Evaluate.self,
                      ZeroShot.self, Probe.self, Interpret.self, ClassifierExport.self, Predict.self, Reproduce.self, DemoCommand.self, Bench.self]
    )
}
