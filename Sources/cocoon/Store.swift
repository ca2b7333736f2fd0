import ArgumentParser
import FeatureCache
import Foundation
import Indexing

/// `cocoon store merge|verify`: maintain feature stores.
struct Store: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge shard stores, verify checksums and source files.",
        subcommands: [StoreMerge.self, StoreVerify.self, StoreUpgrade.self])
}

/// `cocoon store merge --into STORE SHARD…`: the key-wise union of shard stores.
struct StoreMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Merge shard stores into one store (created if missing).")
    @Option(help: "Destination store.") var into: String
    @Argument(help: "Shard stores written by `cocoon index --shard i/n`.") var shards: [String]

    func run() throws {
        guard !shards.isEmpty else { throw OptionError("store merge: name at least one shard store after --into \(into)") }
        for shard in shards where !FileManager.default.fileExists(atPath: shard) {
            throw OptionError("\(shard): no such shard store; check the path")
        }
        let target = try FeatureStore(path: into, options: FeatureStore.Options(create: true))
        for shard in shards {
            let source = try FeatureStore(path: shard)
            let report = try target.merge(from: source)
            let copied = report.copied.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let same = report.identical.values.reduce(0, +)
            print("\(shard): copied \(copied.isEmpty ? "nothing" : copied)\(same > 0 ? "; \(same) identical entries skipped" : "")")
        }
    }
}

/// `cocoon store verify STORE [--files --root DIR]`: re-check every checksum and record; with
/// `--files`, re-hash the source images against the item records.
struct StoreVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Re-check every feature checksum and record (and source files).")
    @Argument(help: "Store directory.") var store: String
    @Flag(help: "Also re-hash each item's source file and compare with its record.") var files = false
    @Option(help: "Folder the item paths are relative to (the dataset's image folder); needed with --files.") var root: String?
    @Option(help: "With --files: check only this dataset.") var dataset: String?

    func run() throws {
        guard FileManager.default.fileExists(atPath: store) else { throw OptionError("\(store): no such store; check the path") }
        let s = try FeatureStore(path: store)
        let report = try s.verify()
        print("\(s.path): \(report.checked) features checked, \(report.bad) bad")
        for line in report.problems { print("  \(line)") }
        var bad = report.bad
        if files {
            guard let root else { throw OptionError("store verify --files: pass --root DIR, the folder the item paths are relative to") }
            let check = try SourceFileCheck.run(store: s, root: URL(fileURLWithPath: root), datasetName: dataset)
            print("\(root): \(check.checked) source files checked, \(check.problems.count) differ")
            for line in check.problems { print("  \(line)") }
            bad += check.problems.count
        }
        if bad > 0 {
            throw OptionError("\(s.path): \(bad) problems found (listed above); re-index the affected items or restore the files")
        }
    }
}

/// `cocoon store upgrade STORE`: a schema-1 store becomes schema 2 in place (crash-safe; rerun
/// to finish an interrupted upgrade).
struct StoreUpgrade: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upgrade", abstract: "Upgrade a schema-1 store to schema 2 in place (crash-safe, rerunnable).")
    @Argument(help: "Store directory.") var store: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: store) else { throw OptionError("\(store): no such store; check the path") }
        let report = try FeatureStore.upgrade(path: store)
        guard report.fromSchema == 1 else {
            print("\(store): already schema \(StoreSchema.version); nothing to upgrade")
            return
        }
        print("\(store): schema 1 → \(StoreSchema.version): \(report.features) features rewritten")
        for e in report.extractors {
            print("  extractor \(e.old) → \(e.new)" + (e.recipe.map { ", augmented views under recipe \($0)" } ?? ""))
        }
        if report.differingDuplicates > 0 {
            print("  \(report.differingDuplicates) view-0 features were stored twice with different bits (schema 1 let a feature depend on its batch slot); the first was kept")
        }
    }
}

