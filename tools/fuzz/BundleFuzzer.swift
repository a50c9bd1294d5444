// libFuzzer entry point for the model bundle parser (built by tools/fuzz/run.sh, not by SwiftPM).
//
// Every input goes through ModelBundle.decode, which must refuse bad bytes with a BundleError and never crash,
// hang or read out of bounds (AddressSanitizer is on). When an input decodes, the model is run on its golden
// rows and on an all-missing row, and the golden-vector check and the inspector run too.

@_cdecl("LLVMFuzzerTestOneInput")
public func bundleFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let bundle: ModelBundle
    do {
        bundle = try ModelBundle.decode(bytes)
    } catch {
        precondition(!error.description.contains("\n"), "error message is not one line: \(error)")
        return 0
    }
    let model = bundle.model
    var sum = 0.0
    for vector in bundle.manifest.golden { sum += model.probability(vector.features) }
    sum += model.probability([Double](repeating: .nan, count: model.featureCount))
    precondition(!sum.isInfinite, "a probability is infinite")
    do {
        try bundle.checkGoldenVectors(tolerance: 1e-6)
    } catch {
        precondition(error.reason == .goldenMismatch)
    }
    _ = BundleInspector.summary(bundle)
    return 0
}
