import FeatureCache
import FlyingFox
import Foundation
import Indexing

/// The HTTP surface: routes a request by method and path to the engine and turns every outcome
/// into a response. Nothing a client sends crashes the server: bad input is a 4xx with
/// `{"error": "..."}`, an unexpected failure a 500 with the same shape.
struct ServeRoutes: Sendable {
    let engine: ServeEngine

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            return try await route(request)
        } catch let error as RequestError {
            return Self.error(error.status, error.description)
        } catch is CancellationError {
            return Self.error(503, "request cancelled")
        } catch {
            return Self.error(500, "\(error)")
        }
    }

    private func route(_ request: HTTPRequest) async throws -> HTTPResponse {
        let path = request.path
        let get = request.method == .GET || request.method == .HEAD
        switch path {
        case "/", "/index.html":
            guard get else { throw methodNotAllowed(request) }
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: Data(ServePage.html.utf8))
        case "/api/stats":
            guard get else { throw methodNotAllowed(request) }
            return try Self.json(await engine.io { try engine.stats() })
        case "/api/search":
            guard get else { throw methodNotAllowed(request) }
            return try await search(request)
        case "/api/classify":
            guard request.method == .POST else { throw methodNotAllowed(request) }
            return try await classify(request)
        case "/api/accuracy":
            guard get else { throw methodNotAllowed(request) }
            return try await accuracy(request)
        default:
            if path.hasPrefix("/thumb/") {
                guard get else { throw methodNotAllowed(request) }
                return try await thumb(path)
            }
            throw RequestError(404, "no such endpoint: \(path)")
        }
    }

    private func methodNotAllowed(_ request: HTTPRequest) -> RequestError {
        RequestError(405, "\(request.method.rawValue) is not allowed on \(request.path)")
    }

    private func parameter(_ request: HTTPRequest, _ name: String) throws -> String {
        guard let value = request.query[name], !value.isEmpty else { throw RequestError(400, "missing query parameter '\(name)'") }
        return value
    }

    // GET /api/search?dataset=D&split=test&q=TEXT&top=24
    private func search(_ request: HTTPRequest) async throws -> HTTPResponse {
        let datasetName = try parameter(request, "dataset"), text = try parameter(request, "q")
        let split = try engine.split(request.query["split"] ?? "test")
        var top = 24
        if let t = request.query["top"] {
            guard let n = Int(t), (1...1000).contains(n) else { throw RequestError(400, "top '\(t)': expected a whole number from 1 to 1000") }
            top = n
        }
        guard text.count <= 1000 else { throw RequestError(400, "q: at most 1000 characters") }
        let index = try await engine.io { try engine.searchIndex(dataset: datasetName, split: split) }
        let query = try await engine.onModel { try engine.textQuery(text) }
        let hits = try await engine.io { query.withUnsafeBufferPointer { CacheQueries.search(index.features, query: $0.baseAddress!, top: top) } }
        let hasRoot = engine.roots[index.datasetName] != nil
        let encodedName = index.datasetName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? index.datasetName
        let results = hits.map { hit -> [String: Any] in
            let id = Int(index.features.items[hit.row]), label = Int(index.features.labels[hit.row])
            var row: [String: Any] = [
                "item": id, "path": id < index.items.count ? index.items[id].relativePath : "", "label": label,
                "classname": label >= 0 && label < index.record.classnames.count ? index.record.classnames[label] : "",
                "score": Double(hit.score),
            ]
            if hasRoot { row["thumb"] = "/thumb/\(encodedName)/\(index.split)/\(id)" }
            return row
        }
        return try Self.json(["dataset": index.datasetName, "split": index.split.description, "q": text, "top": top,
                              "count": index.features.count, "results": results])
    }

    // GET /thumb/DATASET/SPLIT/ITEM
    private func thumb(_ path: String) async throws -> HTTPResponse {
        let parts = path.dropFirst("/thumb/".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let name = parts[0].removingPercentEncoding, !name.isEmpty else {
            throw RequestError(404, "no such thumbnail")
        }
        let file = try await engine.io { try engine.thumbnail(dataset: name, split: parts[1], item: parts[2]) }
        return HTTPResponse(statusCode: .ok, headers: [.contentType: file.contentType, .cacheControl: "max-age=3600"], body: file.data)
    }

    // POST /api/classify?dataset=D  (body: JPEG or PNG bytes)
    private func classify(_ request: HTTPRequest) async throws -> HTTPResponse {
        let limit = engine.maxUploadBytes
        if let count = request.bodySequence.count, count > limit {
            throw RequestError(413, "upload of \(count) bytes is over the limit of \(limit) bytes (--max-upload-mb)")
        }
        var body = Data()
        for try await chunk in request.bodySequence {
            body.append(chunk)
            if body.count > limit { throw RequestError(413, "upload is over the limit of \(limit) bytes (--max-upload-mb)") }
        }
        guard !body.isEmpty else { throw RequestError(400, "empty body: POST the image file's bytes (JPEG or PNG)") }
        var dataset: (name: String, classnames: [String])?
        if let name = request.query["dataset"], !name.isEmpty {
            let record = try await engine.io { try engine.dataset(name).record }
            dataset = (record.name, record.classnames)
        } else if engine.prompts.isEmpty {
            throw RequestError(400, "missing query parameter 'dataset' (zero-shot needs its class names)")
        }
        let classifiers = try await engine.onModel { try engine.classify(body, dataset: dataset) }
        return try Self.json(["dataset": dataset?.name ?? NSNull(), "bytes": body.count, "classifiers": classifiers])
    }

    // GET /api/accuracy?prompt=NAME&dataset=D
    private func accuracy(_ request: HTTPRequest) async throws -> HTTPResponse {
        let name = try parameter(request, "prompt")
        guard let prompt = engine.prompts.first(where: { $0.name == name }) else {
            throw RequestError(404, "no prompt '\(name)'; loaded: \(engine.prompts.isEmpty ? "none (start with --prompt FILE)" : engine.prompts.map(\.name).joined(separator: ", "))")
        }
        let datasetName = request.query["dataset"].flatMap { $0.isEmpty ? nil : $0 } ?? prompt.checkpoint.recipe.dataset
        return try Self.json(await engine.accuracy(prompt: prompt, datasetName: datasetName))
    }

    // MARK: responses

    static func json(_ object: Any, status: Int = 200) throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return HTTPResponse(statusCode: statusCode(status), headers: [.contentType: "application/json"], body: data)
    }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        (try? json(["error": message], status: status))
            ?? HTTPResponse(statusCode: statusCode(status), headers: [.contentType: "application/json"], body: Data("{\"error\":\"?\"}".utf8))
    }

    static func statusCode(_ code: Int) -> HTTPStatusCode {
        switch code {
        case 200: return .ok
        case 400: return .badRequest
        case 404: return .notFound
        case 405: return .methodNotAllowed
        case 413: return .payloadTooLarge
        case 503: return HTTPStatusCode(503, phrase: "Service Unavailable")
        default: return .internalServerError
        }
    }
}
