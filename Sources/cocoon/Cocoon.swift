import ArgumentParser

/// The `cocoon` command line: index CLIP image features once, tune prompts many times.
@main
struct Cocoon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cocoon",
        abstract: "CoOp / CoCoOp prompt learning on an ahead-of-time CLIP feature cache.",
        version: "0.1.0",
        subcommands: [Inspect.self, Bench.self, Synth.self]
    )
}
