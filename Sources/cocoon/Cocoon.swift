import ArgumentParser
import Kernels

/// Entry point: make sure OpenBLAS runs kernels that fit the CPU, then parse the command line.
@main
enum CocoonMain {
    static func main() {
        OpenBLASCore.reexecIfBetterAvailable()
        Cocoon.main()
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
