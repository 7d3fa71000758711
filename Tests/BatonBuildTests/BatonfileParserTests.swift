import BatonOS
import BatonStore
import Testing
@testable import BatonBuild

/// The Batonfile format: what a Dockerfile user writes is read as a Dockerfile would be, and
/// everything outside the subset gets one `FILE:LINE:` error naming the instruction.
@Suite struct BatonfileParserTests {
    func plan(_ text: String, base: ImageConfig = ImageConfig()) throws -> BuildPlan {
        try BuildPlan(try Batonfile(parsing: text, fileName: "Batonfile"), base: base)
    }

    func error(_ text: String) -> String {
        do {
            _ = try plan(text)
            return "no error"
        } catch let error as BatonError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func everyInstructionWithCommentsContinuationsAndBothForms() throws {
        let file = """
            # syntax comment
            FROM base:1
            ENV GREETING="hello world" \\
                # a comment inside a continuation is dropped
                NAME=baton
            ENV OLD style value
            WORKDIR /srv
            WORKDIR app
            COPY --chmod=755 bin/run.sh lib ./
            COPY ["a file", "/etc/app.conf"]
            RUN echo "$GREETING" > /tmp/x && \\
                echo done
            RUN ["/bin/echo", "exec form"]
            EXPOSE 8080 9090/tcp
            LABEL org.baton.health-path=/healthz team="web ops"
            USER 1000:1000
            ENTRYPOINT ["/bin/tini", "--"]
            CMD python3 app.py
            """
        let steps = try plan(file, base: ImageConfig(cmd: ["/bin/old"], env: ["PATH=/bin"])).steps
        #expect(steps.count == 13)
        let last = try #require(steps.last).config
        #expect(last.env == ["PATH=/bin", "GREETING=hello world", "NAME=baton", "OLD=style value"])
        #expect(last.workingDir == "/srv/app")
        #expect(last.exposedPorts == [8080, 9090])
        #expect(last.healthPath == "/healthz")
        #expect(last.labels["team"] == "web ops")
        #expect(last.user == "1000:1000")
        #expect(last.entrypoint == ["/bin/tini", "--"])
        #expect(last.cmd == ["/bin/sh", "-c", "python3 app.py"])
        guard case .copy(let sources, let destination, let isDirectory, let chmod) = steps[4].action else {
            Issue.record("step 5 is not a COPY: \(steps[4].action)")
            return
        }
        #expect(sources == ["bin/run.sh", "lib"] && destination == "/srv/app" && isDirectory && chmod == 0o755)
        guard case .copy(let jsonSources, let jsonDestination, false, nil) = steps[5].action else {
            Issue.record("step 6 is not a file COPY: \(steps[5].action)")
            return
        }
        #expect(jsonSources == ["a file"] && jsonDestination == "/etc/app.conf")
        guard case .run(let shell) = steps[6].action, case .run(let exec) = steps[7].action else {
            Issue.record("steps 7 and 8 are not RUN")
            return
        }
        #expect(shell == ["/bin/sh", "-c", "echo \"$GREETING\" > /tmp/x &&     echo done"])
        #expect(exec == ["/bin/echo", "exec form"])
        // A RUN sees the environment as it stood when it ran.
        #expect(steps[6].config.env.contains("GREETING=hello world"))
        #expect(steps[6].config.user == nil)
    }

    @Test func variablesExpandInEnvWorkdirCopyAndLabel() throws {
        let steps = try plan("""
            FROM scratch
            ENV APP=/opt/app PATH=/opt/app/bin:$PATH
            WORKDIR ${APP}
            ENV LEVEL=${UNSET:-info} EXTRA=${APP:+set} LITERAL=\\$APP QUOTED='$APP'
            COPY conf $APP/conf/
            """).steps
        let config = try #require(steps.last).config
        #expect(config.env.contains("PATH=/opt/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        #expect(config.workingDir == "/opt/app")
        #expect(config.env.contains("LEVEL=info") && config.env.contains("EXTRA=set"))
        #expect(config.env.contains("LITERAL=$APP") && config.env.contains("QUOTED=$APP"))
        guard case .copy(_, let destination, true, _) = steps[3].action else {
            Issue.record("not a COPY into a directory: \(steps[3].action)")
            return
        }
        #expect(destination == "/opt/app/conf")
    }

    @Test func instructionsOutsideTheSubsetNameTheirLine() {
        #expect(error("FROM scratch\n\nFOO bar") == "Batonfile:3: unknown instruction 'FOO'")
        #expect(error("FROM scratch\nADD https://example.com/x /x").hasPrefix("Batonfile:2: ADD is not supported"))
        #expect(error("ARG V=1\nFROM scratch").hasPrefix("Batonfile:1: ARG is not supported"))
        #expect(error("FROM base:1 AS build").hasPrefix("Batonfile:1: FROM takes one reference"))
        #expect(error("FROM a:1\nFROM b:1").hasPrefix("Batonfile:2: a second FROM"))
        #expect(error("FROM scratch\nONBUILD RUN x").hasPrefix("Batonfile:2: ONBUILD is not supported"))
        #expect(error("FROM scratch\nHEALTHCHECK CMD true").contains("LABEL org.baton.health-path"))
        #expect(error("FROM scratch\nCOPY --from=build /a /b").hasPrefix("Batonfile:2: COPY --from is not supported"))
        #expect(error("FROM scratch\nCOPY --chown=1:1 a /b").hasPrefix("Batonfile:2: COPY --chown is not supported"))
        #expect(error("FROM scratch\nRUN --mount=type=cache,target=/x true").hasPrefix("Batonfile:2: RUN --mount"))
        #expect(error("FROM scratch\nCOPY ../secret /s").hasPrefix("Batonfile:2: COPY ../secret: '..' would leave the build context"))
        #expect(error("FROM scratch\nCOPY /etc/passwd /p").hasPrefix("Batonfile:2: COPY /etc/passwd: sources are paths inside"))
        #expect(error("FROM scratch\nCOPY *.py /app/").contains("wildcards are not supported"))
        #expect(error("FROM scratch\nCOPY onlyone").hasPrefix("Batonfile:2: COPY needs a source and a destination"))
        #expect(error("FROM scratch\nCOPY --chmod=9z9 a /a").contains("octal"))
        #expect(error("FROM scratch\nEXPOSE 70000").hasPrefix("Batonfile:2: EXPOSE 70000"))
        #expect(error("FROM scratch\nEXPOSE 53/udp").contains("only TCP"))
        #expect(error("FROM scratch\nUSER www-data").contains("numeric UID"))
        #expect(error("FROM scratch\nENV \"unterminated").contains("unterminated"))
        #expect(error("FROM scratch\nLABEL org.baton.health-path=health").contains("must start with '/'"))
        #expect(error("FROM scratch\nLABEL org.baton.host-binds=/etc").contains("Baton's own"))
        #expect(error("RUN true") == "Batonfile:1: the first instruction must be FROM")
        #expect(error("# only a comment\n") == "Batonfile: no FROM instruction (use FROM scratch for an empty base)")
        #expect(error("FROM scratch\nCMD") == "Batonfile:2: CMD needs arguments")
        #expect(error("# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch").hasPrefix("Batonfile:2: the escape parser directive"))
        // The file is untrusted: no terminal escape sequence reaches the operator's terminal.
        #expect(error("FROM scratch\nFOO\u{1b}]0;pwned\u{07} x") == "Batonfile:2: unknown instruction 'FOO?]0;pwned?'")
        #expect(error("FROM --platform=linux/arm64 base:1").hasPrefix("Batonfile:1: FROM --platform is not supported"))
        #expect(error("FROM scratch\nVOLUME /data").contains("baton app create --volume"))
        #expect(error("FROM scratch\nCOPY a b\nCOPY \"c d\" /x\nRUN true\nEXPOSE http").hasPrefix("Batonfile:5: EXPOSE http"))
    }

    @Test func registryReferencesAreToldApartFromLocalNames() {
        #expect(BaseResolver.isRegistryReference("registry.example.com/team/app:1"))
        #expect(BaseResolver.isRegistryReference("localhost:5000/app@sha256:" + String(repeating: "a", count: 64)))
        #expect(BaseResolver.isRegistryReference("localhost/app:1"))
        #expect(!BaseResolver.isRegistryReference("team/app:1"))
        #expect(!BaseResolver.isRegistryReference("app:1"))
        #expect(!BaseResolver.isRegistryReference("sha256:" + String(repeating: "a", count: 64)))
    }
}
