import Testing

@testable import Gateway

@Suite struct ControlCommandTests {
    @Test(arguments: [
        ControlReply.activated("model:office@3"), .refused("olderVersion: version 2 is not newer than 3"),
        .status("rule"), .error("unknown request 'x' (activate, status)"),
    ])
    func repliesSurviveTheirOneLine(_ reply: ControlReply) {
        #expect(ControlReply(line: reply.line) == reply)
    }

    @Test func anUnknownReplyIsAnError() {
        #expect(ControlReply(line: "hello") == .error("unexpected reply 'hello'"))
        #expect(ControlCommand(rawValue: "activate") == .activate)
        #expect(ControlCommand(rawValue: "reboot") == nil)
    }
}
