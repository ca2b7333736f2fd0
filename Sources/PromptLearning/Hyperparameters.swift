import Datasets

/// Every training default of cocoon in one table (the official configs of every method;
/// provenance in docs/DESIGN.md "Hyperparameter defaults"). Each method's `defaults` answers one
/// of the constructors below; the CLI, the trainers and the checkpoints read them from here only.
public struct Hyperparameters: Codable, Equatable {
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var warmupEpochs: Int
    public var warmupLearningRate: Double
    public var epochs: Int
    public var batchSize: Int
    public var contextLength: Int
    public var initPhrase: String?
    public var classSpecific: Bool
    public var position: ClassTokenPosition
    public var seed: UInt64
    /// KgCoOp's weight W of the knowledge-guided term (`TRAINER.COOP.W`). nil for the other methods
    /// (and absent from their JSON, so older checkpoints and reproduction cell ids are unchanged);
    /// a KgCoOp learner reads nil as `Hyperparameters.kgcoopDefaultWeight`.
    public var kgcoopWeight: Double? = nil
    /// ProGrad's λ (`LOSS.LAMBDA`): the share of the cross-entropy gradient's component against the
    /// distillation gradient that is removed. nil for the other methods; read as
    /// `Hyperparameters.progradDefaultLambda`.
    public var progradLambda: Double? = nil
    /// CLIP-Adapter's residual ratio (0.2 in the official code). nil for the other methods.
    public var clipAdapterRatio: Double? = nil
    /// TaskRes's residual scale α (`RESIDUAL_SCALE`). nil for the other methods.
    public var taskresScale: Double? = nil
    /// Tip-Adapter's and Tip-Adapter-F's cache and search settings. nil for the other methods.
    public var tipAdapter: TipAdapterSettings? = nil
    /// Select on the test split, as the official code does where it has no val (Tip-Adapter on
    /// ImageNet, Tip-Adapter-F's best epoch): only under `--select-on-test`, and the tables say so.
    /// nil (absent from the JSON) means selection on validation data.
    public var selectOnTest: Bool? = nil
    /// Zero-shot CLIP's templates ("{}" for the class name); nil: the dataset's hand-crafted one.
    public var zeroShotTemplates: [String]? = nil

    /// W of every official KgCoOp script.
    public static let kgcoopDefaultWeight = 8.0
    /// λ of ProGrad's scripts (0.8 for 8/16 shots on Flowers102, DTD and EuroSAT: `prograd(shots:dataset:)`).
    public static let progradDefaultLambda = 1.0

    /// CoOp (IJCV): M = 16 random init, unified, class token at the end, batch 32, SGD 0.002;
    /// 50 epochs for 1 shot or ImageNet, 100 for 2/4 shots, 200 for 8/16 (and full data).
    public static func coop(shots: Int?, dataset: String) -> Hyperparameters {
        let epochs: Int
        if dataset.lowercased() == "imagenet" || shots == 1 { epochs = 50 }
        else if let s = shots, s == 2 || s == 4 { epochs = 100 }
        else { epochs = 200 }
        return Hyperparameters(learningRate: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1,
                               warmupLearningRate: 1e-5, epochs: epochs, batchSize: 32, contextLength: 16,
                               initPhrase: nil, classSpecific: false, position: .end, seed: 1)
    }

    /// CoOp as the CoCoOp paper runs it in base-to-new and transfer (`vit_b16_ctxv1`): `coop`'s
    /// schedule with M = 4 from "a photo of a". Used by `cocoon reproduce` and the demo.
    public static func coopContextV1(shots: Int, dataset: String) -> Hyperparameters {
        var h = coop(shots: shots, dataset: dataset)
        h.contextLength = 4
        h.initPhrase = "a photo of a"
        return h
    }

    /// CoCoOp (CVPR, `vit_b16_c4_ep10_batch1_ctxv1`): M = 4 from "a photo of a", batch 1, 10 epochs.
    public static func cocoop() -> Hyperparameters {
        Hyperparameters(learningRate: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1,
                        warmupLearningRate: 1e-5, epochs: 10, batchSize: 1, contextLength: 4,
                        initPhrase: "a photo of a", classSpecific: false, position: .end, seed: 1)
    }

    /// KgCoOp (`vit_b16_ep100_ctxv1`, W = 8 in every script): M = 4 from "a photo of a" (the code
    /// always uses that phrase when CTX_INIT is set), unified, end; batch 128, 100 epochs, SGD 0.002.
    public static func kgcoop(weight: Double = kgcoopDefaultWeight) -> Hyperparameters {
        Hyperparameters(learningRate: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1,
                        warmupLearningRate: 1e-5, epochs: 100, batchSize: 128, contextLength: 4,
                        initPhrase: "a photo of a", classSpecific: false, position: .end, seed: 1, kgcoopWeight: weight)
    }

    /// ProGrad (`rn50_ep50` / `rn50_ep100` / `rn50`, `prograd.sh`): M = 16 with the dataset's ProGrad
    /// phrase in the last context vectors (`PromptLayout` `alignPhraseRight`), unified, end; batch 32,
    /// SGD 0.002; 50 epochs for 1 shot, 100 for 2/4, 200 for 8/16 (and full data);
    /// λ = 0.8 for 8/16 shots on OxfordFlowers, DescribableTextures and EuroSAT (its README), else 1.
    public static func prograd(shots: Int?, dataset: String) -> Hyperparameters {
        let epochs: Int
        if shots == 1 { epochs = 50 }
        else if let s = shots, s == 2 || s == 4 { epochs = 100 }
        else { epochs = 200 }
        let reduced = ["OxfordFlowers", "DescribableTextures", "EuroSAT"].contains(dataset) && (shots == 8 || shots == 16)
        return Hyperparameters(learningRate: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1,
                               warmupLearningRate: 1e-5, epochs: epochs, batchSize: 32, contextLength: 16,
                               initPhrase: PromptTemplates.progradPhrase(for: dataset), classSpecific: false,
                               position: .end, seed: 1, progradLambda: reduced ? 0.8 : progradDefaultLambda)
    }

    /// The official defaults of `method` for `shots` on `dataset` (canonical name): what `cocoon tune`
    /// starts from before its options.
    public static func defaults(_ method: PromptMethod, shots: Int?, dataset: String) -> Hyperparameters {
        method.definition.defaults(shots: shots, dataset: dataset)
    }

    /// CLIP-Adapter: its repository ships no config ("follow CoOp's command"): CoOp's Dassl recipe
    /// with SGD lr 0.01, batch 32 (LP++'s note for CLIP-Adapter), ratio 0.2 (the code's).
    public static func clipAdapter(shots: Int?, dataset: String) -> Hyperparameters {
        var h = coop(shots: shots, dataset: dataset)
        h.learningRate = 0.01
        h.clipAdapterRatio = 0.2
        return h
    }

    /// TaskRes (`train_regular.sh`, `configs/trainers/TaskRes`): Dassl's Adam, batch 256, lr 2e-3
    /// (ImageNet 2e-4), 100 epochs for 1/2/4 shots and 200 otherwise, cosine per epoch after one
    /// warm-up epoch at 1e-5, weight decay 5e-4; α 0.5 (OxfordFlowers 1.0). `momentum` is unused.
    public static func taskres(shots: Int?, dataset: String) -> Hyperparameters {
        var h = coop(shots: shots, dataset: dataset)
        h.learningRate = dataset == "ImageNet" ? 2e-4 : 2e-3
        h.batchSize = 256
        h.epochs = [1, 2, 4].contains(shots ?? 0) ? 100 : 200
        h.taskresScale = dataset == "OxfordFlowers" ? 1.0 : 0.5
        return h
    }

    /// Tip-Adapter (training-free: 0 epochs) with the dataset's config (`TipAdapterSettings.official`).
    public static func tipAdapter(dataset: String) -> Hyperparameters {
        var h = tipAdapterF(dataset: dataset)
        h.epochs = 0
        return h
    }

    /// Tip-Adapter-F (`main.py`, `configs/<dataset>.yaml`): AdamW lr 0.001 (weight decay 0.01, eps
    /// 1e-4), batch 256, `train_epoch` epochs (EuroSAT 100, else 20), cosine stepped every
    /// iteration; the last epoch's keys kept (`TipAdapterSettings.keep`).
    public static func tipAdapterF(dataset: String) -> Hyperparameters {
        let (settings, epochs) = TipAdapterSettings.official(dataset: dataset)
        return Hyperparameters(learningRate: 0.001, momentum: 0, weightDecay: 0.01, warmupEpochs: 0, warmupLearningRate: 0,
                               epochs: epochs, batchSize: 256, contextLength: 0, initPhrase: nil, classSpecific: false,
                               position: .end, seed: 1, tipAdapter: settings)
    }

    /// LP++ (`configs/base.yaml`, `linear_probe_p2.py`): 300 full-batch iterations (an epoch each),
    /// step sizes computed from the data; the learning rate and batch fields are unused.
    public static func lpPlusPlus() -> Hyperparameters {
        Hyperparameters(learningRate: 1, momentum: 0.9, weightDecay: 0, warmupEpochs: 0, warmupLearningRate: 0, epochs: 300,
                        batchSize: 0, contextLength: 0, initPhrase: nil, classSpecific: false, position: .end, seed: 1)
    }

    /// The baselines (zero-shot CLIP, the linear probe): nothing to train epoch by epoch.
    public static func baseline(templates: [String]? = nil) -> Hyperparameters {
        Hyperparameters(learningRate: 1, momentum: 0, weightDecay: 0, warmupEpochs: 0, warmupLearningRate: 0, epochs: 0,
                        batchSize: 0, contextLength: 0, initPhrase: nil, classSpecific: false, position: .end, seed: 1,
                        zeroShotTemplates: templates)
    }

    /// Learning rate of 0-based epoch `e`: the constant warm-up, then cosine annealing stepped once
    /// per epoch with Dassl's recount: `lr·½(1+cos(π(e−warmup)/epochs))` (never quite 0).
    public func learningRate(epoch e: Int) -> Double {
        if e < warmupEpochs { return warmupLearningRate }
        return 0.5 * learningRate * (1 + cos(Double.pi * Double(e - warmupEpochs) / Double(epochs)))
    }
}

#if canImport(Glibc)
import Glibc
#endif
