import Testing

@testable import OccupantCore

@Suite struct JSONTests {
    @Test func serializesInKeyOrderWithEscapes() {
        let value = JSON.object([
            "b": .number(1),
            "a": .string("quote \" backslash \\ newline \n ctl \u{01}"),
            "n": .finite(.nan),
            "x": .number(0.25),
            "skip": nil,
            "list": .array([.bool(true), .null]),
        ])
        #expect(
            value.serialized
                == #"{"b":1,"a":"quote \" backslash \\ newline \n ctl \u0001","n":null,"x":0.25,"list":[true,null]}"#)
    }
}
