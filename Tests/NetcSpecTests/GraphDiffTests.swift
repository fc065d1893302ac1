import NetcIR
import NetcSpec
import NetcZoo
import Testing

/// `netc diff`: the per-stage changes are what the two networks' summaries imply.
struct GraphDiffTests {
    static func graph(_ name: String) throws -> Graph {
        try #require(Compiler.compile(source: Zoo.spec(named: name)!, file: "\(name).yaml").graph)
    }

    @Test func resnet34ToResnet50MatchesTheirSummaries() throws {
        let (a, b) = (try Self.graph("resnet34"), try Self.graph("resnet50"))
        let diff = GraphDiff(a, b)
        let rowsA = Summary(a, batch: 1, depth: 1).rows, rowsB = Summary(b, batch: 1, depth: 1).rows
        #expect(diff.rows.map(\.module) == ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "head"])
        #expect(rowsA.map(\.name) == diff.rows.map(\.module) && rowsB.map(\.name) == diff.rows.map(\.module))
        for (row, (ra, rb)) in zip(diff.rows, zip(rowsA, rowsB)) {
            #expect(row.a?.parameters == ra.parameters && row.b?.parameters == rb.parameters, "\(row.module)")
            #expect(row.delta.parameters == rb.parameters - ra.parameters, "\(row.module)")
            #expect(row.delta.multAdds == rb.multAdds - ra.multAdds, "\(row.module)")
        }
        #expect(diff.total.delta.parameters == b.cost.parameters - a.cost.parameters)
        #expect(diff.total.delta.parameters == 2_258_560)
        let first = try #require(diff.firstShapeDifference)
        #expect(first.module == "stages.0.0" && first.a == [64, 24, 24] && first.b == [256, 24, 24])
        #expect(diff.renderText().hasSuffix("""
            -----------------------------------------------------------------------------------------------------------------------------------------------------
            total          21,290,250       23,548,810  +2,258,560         659,097,994         738,362,762  +79,264,768        723,466      2,078,218  +1,354,752
            first shape that differs: stages.0.0 gives 64x24x24 in resnet34, 256x24x24 in resnet50

            """))
    }

    /// A stage only one network has counts as zeros on the other side; the same network twice differs nowhere.
    @Test func missingStagesAndIdenticalNetworks() throws {
        let lenet = try Self.graph("lenet"), resnet = try Self.graph("resnet18")
        let diff = GraphDiff(lenet, resnet)
        let stage = try #require(diff.rows.first { $0.module == "stages.3" })
        #expect(stage.a == nil && stage.delta.parameters == stage.b?.parameters)
        let same = GraphDiff(resnet, resnet)
        #expect(same.firstShapeDifference == nil)
        #expect(same.total.delta.parameters == 0 && same.total.delta.multAdds == 0 && same.total.delta.activations == 0)
        #expect(same.renderText().hasSuffix("every stem, stage and block gives the same shape in both\n"))
    }
}
