import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// `cocoon-serve --store S --model M [--prompt P …] [--root DATASET=DIR …]`: an HTTP server over a
/// feature store — JSON endpoints (stats, text→image search, classify an upload, per-class
/// accuracy) and one self-contained web page using them. Bound to 127.0.0.1 unless --host says
/// otherwise. A separate executable so that `cocoon` never builds FlyingFox.
@main
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cocoon-serve",
        abstract: "Serve a feature store over HTTP: search, classify, accuracy, stats, and a web page.")
    @Option(help: "Store directory.") var store: String
    @Option(help: "CLIP model directory (the one the store was indexed with).") var model: String
    @Option(name: .customLong("prompt"), help: "Prompt checkpoint written by `cocoon tune` (repeatable; named by its file name).") var prompts: [String] = []
    @Option(name: .customLong("root"), help: "DATASET=DIR: the image root of a stored dataset, for thumbnails (repeatable).") var roots: [String] = []
    @Option(help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: UInt16 = 8080
    @Option(name: .customLong("max-upload-mb"), help: "Largest image upload, in MiB.") var maxUploadMB: Double = 8
    @Option(help: "Compute threads, for cocoon and OpenBLAS (default: COCOON_THREADS or all cores).") var threads: Int?
    @Flag(help: "Log every request (FlyingFox's logger) to stdout.") var verbose = false

    func run() async throws {
        guard maxUploadMB > 0 else { throw ValidationError("--max-upload-mb must be positive") }
        signal(SIGPIPE, SIG_IGN)
        _ = Threads.configure(threads)
        let engine = try ServeEngine(storePath: store, modelPath: model, promptPaths: prompts, roots: roots,
                                     maxUploadBytes: Int(maxUploadMB * 1024 * 1024))
        let address: any SocketAddress
        do {
            address = host.contains(":") ? try sockaddr_in6.inet6(ip6: host, port: port) : try sockaddr_in.inet(ip4: host, port: port)
        } catch {
            throw ValidationError("--host \(host): not an IPv4 or IPv6 address (\(error))")
        }
        let routes = ServeRoutes(engine: engine)
        let logger: any Logging = verbose ? HTTPServer.defaultLogger() : DisabledLogger.disabled
        let server = HTTPServer(config: HTTPServer.Configuration(address: address, timeout: 300, logger: logger))
        await server.appendRoute("*") { request in await routes.handle(request) }
        let task = Task { try await server.run() }
        Task {
            try await server.waitUntilListening(timeout: 30)
            FileHandle.standardError.write(Data("cocoon-serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)/ (store \(store), \(engine.prompts.count) prompts)\n".utf8))
        }
        do {
            try await task.value
        } catch {
            throw RequestError(0, "cannot serve on \(host):\(port): \(error)")
        }
    }
}
