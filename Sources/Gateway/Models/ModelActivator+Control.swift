extension ModelActivator {
    /// The control socket's answer: `activate` switches to the store's active bundle; `status` says what decides.
    func reply(to command: ControlCommand, decidedBy: () -> String?) -> ControlReply {
        switch command {
        case .activate:
            switch switchToActive(by: "the control socket") {
            case .none: return .refused("unreadable: no active model in \(store.directory)")
            case .success(let scorer, _): return .activated(scorer.id)
            case .failure(let reason): return .refused(reason)
            }
        case .status:
            return .status(decidedBy() ?? "starting")
        }
    }
}
