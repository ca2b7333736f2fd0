import PromptLearning

/// Everything the demo measured: what `demo-report/results.json` holds and the tables print.
public struct DemoResults: Codable {
    public struct FewShotRow: Codable {
        public var shots: Int
        public var linearProbe: Double?
        public var coop: Double
        public var coopLoss: [Double]
    }

    public struct BaseToNewRow: Codable {
        public var method: String
        public var base: Double
        public var new: Double
        public var harmonic: Double
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
    public var cocoopLoss: [Double]
    /// Nearest vocabulary words of each context vector of the CoOp prompt at the most shots.
    public var nearestWords: [[NearestWords.Match]]
    public var seconds: [String: Double]
}
