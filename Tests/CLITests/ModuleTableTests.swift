import Foundation
import TestSupport
import XCTest

/// docs/DESIGN.md's module tables ("Module graph") and Package.swift name the same targets with
/// the same dependencies, so the design cannot drift from the build.
final class ModuleTableTests: XCTestCase {
    func testDesignModuleTablesMatchPackageSwift() throws {
        let manifest = try String(contentsOf: Paths.package.appendingPathComponent("Package.swift"), encoding: .utf8)
        let design = try String(contentsOf: Paths.package.appendingPathComponent("docs/DESIGN.md"), encoding: .utf8)
        let package = Self.targets(packageSwift: manifest), table = Self.targets(design: design)
        XCTAssertFalse(package.isEmpty)
        XCTAssertEqual(Set(table.keys), Set(package.keys), "targets in DESIGN.md vs Package.swift")
        for (name, dependencies) in package.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(table[name], dependencies, "dependencies of \(name): DESIGN.md vs Package.swift")
        }
    }

    /// Every target Package.swift declares → its dependencies (products by product name).
    static func targets(packageSwift text: String) -> [String: Set<String>] {
        let declaration = try! NSRegularExpression(pattern: #"\.(?:target|executableTarget|testTarget|systemLibrary)\(name: "([^"]+)""#)
        let source = text as NSString
        let found = declaration.matches(in: text, range: NSRange(location: 0, length: source.length))
        var targets: [String: Set<String>] = [:]
        for (i, match) in found.enumerated() {
            let start = match.range.location + match.range.length
            let end = i + 1 < found.count ? found[i + 1].range.location : source.length
            let body = source.substring(with: NSRange(location: start, length: end - start))
            var dependencies: Set<String> = []
            if let open = body.range(of: "dependencies: ["), let close = body[open.upperBound...].firstIndex(of: "]") {
                let list = String(body[open.upperBound..<close])
                dependencies.formUnion(strings(in: list, pattern: #"\.product\(name: "([^"]+)""#))
                let targetsOnly = list.replacingOccurrences(of: #"\.product\([^)]*\)"#, with: "", options: .regularExpression)
                dependencies.formUnion(strings(in: targetsOnly, pattern: #""([^"]+)""#))
            }
            targets[source.substring(with: match.range(at: 1))] = dependencies
        }
        return targets
    }

    /// Every row of the tables under "## Module graph" → the names in its "depends on" column.
    static func targets(design text: String) -> [String: Set<String>] {
        guard let section = text.range(of: "\n## Module graph\n") else { return [:] }
        let rest = text[section.upperBound...]
        let body = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var targets: [String: Set<String>] = [:]
        for line in body.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let name = strings(in: cells[1], pattern: "`([^`]+)`").first else { continue }
            let dependencies = cells[2] == "—" ? [] : cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            targets[name] = Set(dependencies)
        }
        return targets
    }

    private static func strings(in text: String, pattern: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        let source = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: source.length)).map { source.substring(with: $0.range(at: 1)) }
    }
}
