global using NUnit.Framework;
global using NfModel = EdgeQuant.NanoFramework.Model;
global using NfInterpreter = EdgeQuant.NanoFramework.Interpreter;
global using RtModel = EdgeQuant.Runtime.Model;
global using RtInterpreter = EdgeQuant.Runtime.Interpreter;
