import PromptLearning

/// Everything the demo measured: what `demo-report/results.json` holds and the tables print.
/// Learned entries are over the plan's seeds (`SeedMean`: mean ± sample std); zero-shot entries
/// depend on no seed.
public struct DemoResults: Codable {
    /// One shot count of the few-shot table (CoOp Fig. 3).
    public struct FewShotRow: Codable {
        public var shots: Int
        public var linearProbe: SeedMean?
        public var coop: SeedMean
        /// Per-seed accuracies, in `plan.seeds` order.
        public var coopBySeed: [Double]
        public var probeBySeed: [Double]?
        /// Training loss per epoch of the first seed.
        public var coopLoss: [Double]
        /// The few-shot adapters at this shot count (`plan.fewShotAdapters` order).
        public var adapters: [MethodEntry]
    }

    /// One method's entry of a table row: its accuracy over the seeds and per seed.
    public struct MethodEntry: Codable {
        public var method: String
        public var accuracy: SeedMean
        public var bySeed: [Double]
    }

    /// One method of the base-to-new table (CoCoOp Table 1); H is computed from the means.
    public struct BaseToNewRow: Codable {
        public var method: String
        public var base: SeedMean
        public var new: SeedMean
        public var harmonic: Double
    }

    /// One method of the domain-generalisation table (CoOp Table 1): source and target accuracy.
    public struct DomainRow: Codable {
        public var method: String
        public var source: SeedMean
        public var target: SeedMean
    }

    /// A test image shown in the report: its file (relative to the report folder), its class and,
    /// for the examples, what zero-shot CLIP and CoOp predicted.
    public struct Picture: Codable {
        public var file: String
        public var truth: String
        /// The colour that names the class in this picture ("outline" or "fill").
        public var labelledPart: String
        public var zeroShot: String?
        public var coop: String?
    }

    /// A row of sample pictures: one dataset's split.
    public struct SampleRow: Codable {
        public var dataset: String
        public var split: String
        public var pictures: [Picture]
    }

    public var plan: DemoPlan
    public var classes: Int
    public var testImages: Int
    public var zeroShot: Double
    public var zeroShotTemplate: String
    public var ensemble: Double
    public var ensembleTemplates: Int
    public var fewShot: [FewShotRow]
    public var baseToNew: [BaseToNewRow]
    public var domainGeneralisation: [DomainRow]
    /// Sample pictures per dataset and split.
    public var samples: [SampleRow]
    /// Test images of the source that the first seed's CoOp at the most shots gets right and
    /// zero-shot wrong (`fixed`), and the other way round (`broken`).
    public var fixed: [Picture]
    public var broken: [Picture]
    /// CoCoOp's training loss per epoch (first seed).
    public var cocoopLoss: [Double]
    /// Nearest vocabulary words of each context vector of the first seed's CoOp prompt at the most shots.
    public var nearestWords: [[NearestWords.Match]]
    public var seconds: [String: Double]
}
