/// A one-line error in what a command was given (an option, an argument, or a file or store it
/// names): the message names it and says how to fix it. The CLI's own errors; those of the layers
/// below pass through unchanged.
struct OptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
