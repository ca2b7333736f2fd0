import Foundation
import XCTest

// Helpers every test target that drives cocoon from outside shares: fixture paths, scratch
// folders, running the built CLI, and the one-line-error assertion.

/// Paths of the package, its fixtures and the built CLI.
public enum Paths {
    public static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let fixtures = package.appendingPathComponent("Tests/Fixtures")
    public static let tinyRN = fixtures.appendingPathComponent("models/tiny-rn")
    public static let tinyViT = fixtures.appendingPathComponent("models/tiny-vit")
    public static let customVocabulary = fixtures.appendingPathComponent("tokenizer/custom_vocab")
    /// The `cocoon` binary of the build the tests belong to: `swift build --build-tests` (and
    /// `make test`) put it beside the test runner, whatever the configuration or scratch path.
    public static let cocoon = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("cocoon")
}

/// A scratch directory removed on deinit.
public final class Scratch {
    public let url: URL
    public init(_ name: String = "cocoon") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cocoon-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Runs the built CLI; XCTSkip when it has not been built.
public func runCocoon(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    guard FileManager.default.isExecutableFile(atPath: Paths.cocoon.path) else {
        throw XCTSkip("\(Paths.cocoon.path) is missing; build it with `swift build` (make test does)")
    }
    return try runProcess(Paths.cocoon, arguments)
}

/// Runs `executable` with `arguments` to the end; stderr drains on another thread so neither pipe
/// can fill up and block the child.
public func runProcess(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let errBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errBox.data, as: UTF8.self))
}

final class DataBox: @unchecked Sendable { var data = Data() }

/// Asserts `body` throws an error whose one-line description contains `fragment`; returns it.
@discardableResult
public func assertOneLineError(_ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> String {
    do {
        try body()
        XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
        return ""
    } catch {
        let text = "\(error)"
        XCTAssertTrue(text.contains(fragment), "'\(text)' does not contain '\(fragment)'", file: file, line: line)
        XCTAssertFalse(text.contains("\n"), "error is not one line: \(text)", file: file, line: line)
        return text
    }
}


extension Paths {
    /// The demo CLIP model (a tiny ModifiedResNet CLIP with its own BPE vocabulary).
    public static let demoModel = package.appendingPathComponent("demo/model")
}

/// `cocoon ARGS --json` parsed; fails the calling test (with stderr) on a non-zero exit.
public func runCocoonJSON(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let run = try runCocoon(arguments + ["--json"])
    XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout, file: file, line: line)
}

/// Runs `cocoon ARGS`, expecting success; returns stdout.
@discardableResult
public func runCocoonOK(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let run = try runCocoon(arguments)
    XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
    return run.stdout
}

/// Runs `cocoon ARGS`, expecting a refusal: a non-zero exit and one line on stderr (besides
/// `note:` lines) containing `fragment`.
public func assertCocoonRefuses(_ arguments: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let run = try runCocoon(arguments)
    XCTAssertNotEqual(run.status, 0, file: file, line: line)
    let lines = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("note: ") }
    XCTAssertEqual(lines.count, 1, run.stderr, file: file, line: line)
    XCTAssertTrue(run.stderr.contains(fragment), run.stderr, file: file, line: line)
}

/// The outcome of one `cocoon tune ARGS --json` run (its `runs[0]`).
public func tuneOutcome(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let output = try runCocoonJSON(["tune"] + arguments, file: file, line: line)
    return try XCTUnwrap((output["runs"] as? [[String: Any]])?.first, "\(output)", file: file, line: line)
}
